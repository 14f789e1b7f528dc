"""One OpenAPI document for the whole mall, merged from the gateway's and the services' own.

Each service serves its document at `/api/v1/openapi.json`; the gateway takes their `/api/v1`
paths and schemas (a schema name two services use differently is prefixed with the service's
name), adds its own identity routes and the security schemes, and caches the result briefly.
A service that is down leaves its paths out and says so in the document's description.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import Any

import httpx

from mpp_shared import problems

Document = dict[str, Any]
CACHE_SECONDS = 30.0
SECURITY_SCHEMES = {
    "bearer": {
        "type": "oauth2",
        "description": "Access token from `POST /api/v1/auth/token` (NIK, phone or username).",
        "flows": {
            "password": {
                "tokenUrl": "/api/v1/auth/token",
                "refreshUrl": "/api/v1/auth/token",
                "scopes": {},
            }
        },
    },
    "partnerKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A partner agency's API key.",
    },
}


def merge(own: Document, services: dict[str, Document | None]) -> Document:
    """The gateway's document with every available service's paths and schemas added."""
    merged = copy.deepcopy(own)
    paths: Document = merged.setdefault("paths", {})
    schemas: Document = merged.setdefault("components", {}).setdefault("schemas", {})
    tags = {t["name"]: t for t in merged.get("tags", [])}
    missing = []
    for name, document in services.items():
        if document is None:
            missing.append(name)
            continue
        renames = {}
        for schema_name, schema in document.get("components", {}).get("schemas", {}).items():
            if schema_name in schemas and schemas[schema_name] != schema:
                renames[schema_name] = f"{name.capitalize()}{schema_name}"
        document = _rename_refs(document, renames)
        for schema_name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(schema_name, schema_name)] = schema
        for path, operations in document.get("paths", {}).items():
            if path.startswith("/api/v1/"):
                paths[path] = operations
                for operation in operations.values():
                    for tag in operation.get("tags", []) if isinstance(operation, dict) else []:
                        tags.setdefault(tag, {"name": tag, "description": f"{name} service"})
    merged["paths"] = dict(sorted(paths.items()))
    merged["tags"] = list(tags.values())
    problems.document_problems(merged)  # the gateway's own operations too
    merged["components"]["securitySchemes"] = SECURITY_SCHEMES
    merged["security"] = [{}, {"bearer": []}, {"partnerKey": []}]
    if missing:
        merged["info"]["description"] += (
            f"\n\nNot included now (service unavailable): {', '.join(sorted(missing))}."
        )
    return merged


def _rename_refs(document: Document, renames: dict[str, str]) -> Document:
    if not renames:
        return document
    text = json.dumps(document)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed: Document = json.loads(text)
    return renamed


class MergedOpenApi:
    """Fetches the services' documents and merges them, at most every CACHE_SECONDS."""

    def __init__(self, upstreams: dict[str, str]) -> None:
        self.upstreams = upstreams
        self._cached: tuple[float, Document] | None = None
        self._lock = asyncio.Lock()

    async def document(self, own: Document, client: httpx.AsyncClient) -> Document:
        """The merged document, fresh or cached."""
        async with self._lock:
            if self._cached and self._cached[0] > time.monotonic():
                return self._cached[1]
            names = list(self.upstreams)
            fetched = await asyncio.gather(*(self._fetch(client, n) for n in names))
            merged = merge(own, dict(zip(names, fetched, strict=True)))
            self._cached = (time.monotonic() + CACHE_SECONDS, merged)
            return merged

    async def _fetch(self, client: httpx.AsyncClient, name: str) -> Document | None:
        try:
            response = await client.get(f"{self.upstreams[name]}/api/v1/openapi.json", timeout=3)
            response.raise_for_status()
            document: Document = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        return document
