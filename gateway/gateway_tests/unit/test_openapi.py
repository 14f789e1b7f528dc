"""Merging the services' OpenAPI documents into one."""

from __future__ import annotations

from typing import Any

from gateway.openapi import merge


def doc(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1", "description": "The mall."},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_paths_and_schemas_are_gathered_and_clashing_names_prefixed() -> None:
    own = doc({"/api/v1/auth/me": {"get": {"tags": ["identity"]}}}, {"Page": {"type": "object"}})
    catalog = doc(
        {
            "/api/v1/catalog/services": {
                "get": {"tags": ["catalog"], "responses": {"200": {"content": ref("Page")}}}
            },
            "/health": {"get": {}},
        },
        {"Page": {"type": "array"}, "Service": {"type": "object"}},
    )
    merged = merge(own, {"catalog": catalog, "documents": None})
    assert list(merged["paths"]) == ["/api/v1/auth/me", "/api/v1/catalog/services"]
    schemas = merged["components"]["schemas"]
    assert schemas["Page"] == {"type": "object"}
    assert schemas["CatalogPage"] == {"type": "array"}
    response = merged["paths"]["/api/v1/catalog/services"]["get"]["responses"]["200"]
    assert response["content"] == ref("CatalogPage")
    assert "documents" in merged["info"]["description"]
    assert {"bearer", "partnerKey"} <= set(merged["components"]["securitySchemes"])
    assert {t["name"] for t in merged["tags"]} >= {"catalog"}


def test_identical_schemas_are_shared_not_duplicated() -> None:
    same = {"Problem": {"type": "object"}}
    merged = merge(doc({}, dict(same)), {"catalog": doc({}, dict(same))})
    assert list(merged["components"]["schemas"]) == ["Problem"]
