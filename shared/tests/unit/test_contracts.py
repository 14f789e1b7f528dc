"""Event contracts export as JSON Schema and AsyncAPI."""

from __future__ import annotations

from mpp_shared.contracts import export, load_all


def test_every_registered_type_has_a_schema_and_an_asyncapi_message() -> None:
    registry = load_all()
    assert "catalog.agency.upserted.v1" in registry
    schemas = export.json_schemas()
    assert set(schemas) == set(registry)
    assert schemas["catalog.agency.upserted.v1"]["properties"]["name"]
    document = export.asyncapi()
    assert document["asyncapi"] == "3.0.0"
    messages = document["channels"]["catalog_events"]["messages"]
    assert {m["name"] for m in messages.values()} == {
        t for t, (topic, _) in registry.items() if topic == "catalog.events"
    }
    assert document["channels"]["catalog_events"]["address"] == "catalog.events"
