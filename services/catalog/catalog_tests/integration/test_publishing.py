"""Drafts, publishing checks, versions, withdrawal and their events, on the real store and Kafka."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from catalog.seed import FormField
from catalog.settings import Settings
from mpp_shared import events
from mpp_shared.testing import Tokens, eventually, read_topic

from ..conftest import AGENCY, body, service_input


async def test_publish_versions_and_events(
    catalog: httpx.AsyncClient,
    create: Callable[..., Any],
    admin: dict[str, str],
    catalog_settings: Settings,
) -> None:
    created = await create()
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "draft"
    slug = draft["slug"]
    assert (await catalog.get(f"/api/v1/catalog/services/{slug}")).status_code == 404

    first = await catalog.post(f"/api/v1/catalog/services/{slug}/publish", headers=admin)
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["status"]) == (1, "published")

    changed = service_input(
        slug,
        sla_days=5,
        name={"id": "Akta Kelahiran Baru", "en": "New Birth Certificate"},
        requires_full_nik=True,
    )
    edit = await catalog.get(f"/api/v1/catalog/services/{slug}/draft", headers=admin)
    assert edit.status_code == 200, edit.text
    updated = await catalog.put(
        f"/api/v1/catalog/services/{slug}/draft",
        json=body(changed),
        headers=admin | {"If-Match": edit.headers["ETag"]},
    )
    assert updated.status_code == 200, updated.text
    public = await catalog.get(f"/api/v1/catalog/services/{slug}")
    assert public.json()["version"] == 1, "a draft does not change what citizens see"
    second = await catalog.post(f"/api/v1/catalog/services/{slug}/publish", headers=admin)
    assert second.json()["version"] == 2

    current = (await catalog.get(f"/api/v1/catalog/services/{slug}")).json()
    earlier = (await catalog.get(f"/api/v1/catalog/services/{slug}", params={"version": 1})).json()
    assert (current["version"], current["name"]["en"], current["workflow"]["sla_days"]) == (
        2,
        "New Birth Certificate",
        5,
    )
    assert (earlier["version"], earlier["name"]["en"], earlier["workflow"]["sla_days"]) == (
        1,
        "Test Birth Certificate",
        3,
    )
    assert (current["requires_full_nik"], earlier["requires_full_nik"]) == (True, False)

    records = await read_topic(
        catalog_settings.kafka_bootstrap,
        catalog_settings.topic("catalog.events"),
        until=lambda rs: sum(1 for r in rs if r.key == draft["id"].encode()) >= 2,
    )
    published = [events.from_json(r.value or b"") for r in records if r.key == draft["id"].encode()]
    assert [e.type for e in published] == ["catalog.service.published.v1"] * 2
    assert [e.data["version"] for e in published] == [1, 2]
    assert published[1].data["workflow"]["sla_days"] == 5
    assert published[1].data["form_schema"]["required"] == ["child_name"]
    assert published[1].data["requirements"][0]["code"] == "surat_lahir"
    assert [e.data["requires_full_nik"] for e in published] == [False, True]


async def test_withdrawn_service_stays_readable_and_announces_it(
    catalog: httpx.AsyncClient,
    create: Callable[..., Any],
    admin: dict[str, str],
    catalog_settings: Settings,
) -> None:
    draft = (await create()).json()
    await catalog.post(f"/api/v1/catalog/services/{draft['slug']}/publish", headers=admin)
    withdrawn = await catalog.post(
        f"/api/v1/catalog/services/{draft['slug']}/withdraw", headers=admin
    )
    assert withdrawn.json()["status"] == "withdrawn"
    shown = await catalog.get(f"/api/v1/catalog/services/{draft['slug']}")
    assert (shown.status_code, shown.json()["status"]) == (200, "withdrawn")
    again = await catalog.post(f"/api/v1/catalog/services/{draft['slug']}/withdraw", headers=admin)
    assert again.status_code == 409
    records = await read_topic(
        catalog_settings.kafka_bootstrap,
        catalog_settings.topic("catalog.events"),
        until=lambda rs: any(
            r.key == draft["id"].encode() and b"withdrawn" in (r.value or b"") for r in rs
        ),
    )
    assert any(
        events.from_json(r.value or b"").type == "catalog.service.withdrawn.v1" for r in records
    )


async def test_publishing_refuses_empty_components_bad_schema_and_unsound_workflow(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    data = service_input(
        procedure={"id": [], "en": []},
        complaint_handling={"id": "", "en": ""},
    )
    broken = body(data)
    broken["form_schema"] = {"type": "object", "properties": {"x": {"type": "teks"}}}
    broken["workflow"]["states"].append({"code": "limbo", "label": {"id": "Limbo", "en": "Limbo"}})
    broken["workflow"]["actions"].append(
        {
            "code": "to_nowhere",
            "label": {"id": "x", "en": "x"},
            "from_states": ["completed"],
            "to_state": "nowhere",
            "roles": ["officer"],
        }
    )
    created = await catalog.post("/api/v1/catalog/services", json=broken, headers=admin)
    assert created.status_code == 201, "a draft may be incomplete"
    refused = await catalog.post(
        f"/api/v1/catalog/services/{data.slug}/publish", headers=admin | {"Accept-Language": "en"}
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "/problems/not-publishable"
    fields = {e["field"] for e in problem["errors"]}
    assert {"standard.procedure", "standard.complaint_handling", "form_schema"} <= fields
    assert "workflow.states.limbo" in fields
    assert "workflow.actions.to_nowhere.to_state" in fields
    assert "workflow.actions.to_nowhere" in fields  # leaves a terminal state
    assert (await catalog.get(f"/api/v1/catalog/services/{data.slug}")).status_code == 404


async def test_unknown_role_unknown_agency_and_booking_without_counter_are_refused(
    catalog: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with_role = body(service_input())
    with_role["workflow"]["actions"][0]["roles"] = ["janitor"]
    refused = await catalog.post("/api/v1/catalog/services", json=with_role, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].startswith("workflow.actions.0.roles")

    elsewhere = service_input(
        agency_code="TIDAK-ADA", channels=["online", "booking"], workflow="visit"
    )
    await catalog.post("/api/v1/catalog/services", json=body(elsewhere), headers=admin)
    refused = await catalog.post(
        f"/api/v1/catalog/services/{elsewhere.slug}/publish", headers=admin
    )
    assert {e["field"] for e in refused.json()["errors"]} == {"agency"}

    booked = service_input(channels=["online", "booking"], workflow="visit")
    await catalog.post("/api/v1/catalog/services", json=body(booked), headers=admin)
    refused = await catalog.post(f"/api/v1/catalog/services/{booked.slug}/publish", headers=admin)
    assert refused.json()["errors"][0]["field"] == "channels"
    assert (
        "konter" in refused.json()["errors"][0]["message"]
        or "loket" in refused.json()["errors"][0]["message"]
    )


async def test_create_with_the_same_idempotency_key_twice_creates_once(
    catalog: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = body(service_input())
    headers = admin | {"Idempotency-Key": "create-service-0001"}
    first = await catalog.post("/api/v1/catalog/services", json=data, headers=headers)
    second = await catalog.post("/api/v1/catalog/services", json=data, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    other = await catalog.post(
        "/api/v1/catalog/services", json=body(service_input()), headers=headers
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"


async def test_etags_conditional_reads_and_stale_edits(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    draft = (await create()).json()
    slug = draft["slug"]
    await catalog.post(f"/api/v1/catalog/services/{slug}/publish", headers=admin)
    shown = await catalog.get(f"/api/v1/catalog/services/{slug}")
    unchanged = await catalog.get(
        f"/api/v1/catalog/services/{slug}", headers={"If-None-Match": shown.headers["ETag"]}
    )
    assert (unchanged.status_code, unchanged.content) == (304, b"")

    edit = await catalog.get(f"/api/v1/catalog/services/{slug}/draft", headers=admin)
    etag = edit.headers["ETag"]
    data = body(service_input(slug))
    first = await catalog.put(
        f"/api/v1/catalog/services/{slug}/draft", json=data, headers=admin | {"If-Match": etag}
    )
    late = await catalog.put(
        f"/api/v1/catalog/services/{slug}/draft", json=data, headers=admin | {"If-Match": etag}
    )
    assert first.status_code == 200
    assert late.status_code == 412
    assert late.json()["title"] == "Data sudah diubah orang lain"


async def test_only_administrators_of_the_agency_may_write(
    catalog: httpx.AsyncClient, tokens: Tokens, create: Callable[..., Any]
) -> None:
    data = service_input()
    assert (await create(data, headers={})).status_code == 401
    assert (await create(data, headers={"Authorization": "Bearer not-a-token"})).status_code == 401
    for role, agency_code in (
        ("citizen", None),
        ("officer", AGENCY),
        ("ops_viewer", None),
        ("agency_admin", "POLRES"),
    ):
        response = await create(data, headers=tokens.headers(role, agency=agency_code))
        assert response.status_code == 403, (role, response.text)
    own = await create(data, headers=tokens.headers("agency_admin", agency=AGENCY))
    assert own.status_code == 201
    expired = tokens.mint("mpp_admin", ttl=-60)
    assert (
        await create(service_input(), headers={"Authorization": f"Bearer {expired}"})
    ).status_code == 401


async def test_unknown_slug_is_a_404_problem_naming_it(catalog: httpx.AsyncClient) -> None:
    response = await catalog.get("/api/v1/catalog/services/tidak-ada-layanan")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "tidak-ada-layanan" in response.json()["detail"]


async def test_agency_change_that_would_orphan_a_published_counter_service_is_refused(
    catalog: httpx.AsyncClient, tokens: Tokens, admin: dict[str, str]
) -> None:
    from ..conftest import agency

    code = "UJI-POLRES"
    booked = service_input(agency_code=code, channels=["online", "booking"], workflow="visit")
    assert (
        await catalog.put(
            f"/api/v1/catalog/agencies/{code}",
            json=body(agency(code, booking=[booked.slug])),
            headers=admin,
        )
    ).status_code == 201
    await catalog.post("/api/v1/catalog/services", json=body(booked), headers=admin)
    assert (
        await catalog.post(f"/api/v1/catalog/services/{booked.slug}/publish", headers=admin)
    ).status_code == 200

    own_admin = tokens.headers("agency_admin", agency=code)
    refused = await catalog.put(
        f"/api/v1/catalog/agencies/{code}", json=body(agency(code)), headers=own_admin
    )
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/breaks-published-service"
    assert booked.slug in refused.json()["detail"]
    other_admin = tokens.headers("agency_admin", agency=AGENCY)
    assert (
        await catalog.put(
            f"/api/v1/catalog/agencies/{code}", json=body(agency(code)), headers=other_admin
        )
    ).status_code == 403
    kept = await catalog.put(
        f"/api/v1/catalog/agencies/{code}",
        json=body(agency(code, booking=[booked.slug])) | {"short_name": "Polres"},
        headers=own_admin,
    )
    assert kept.status_code == 200
    assert kept.json()["version"] == 2


async def test_catalog_topic_is_compacted_so_read_models_can_be_rebuilt(
    catalog: httpx.AsyncClient, catalog_settings: Settings
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin_client = AIOKafkaAdminClient(bootstrap_servers=catalog_settings.kafka_bootstrap)
    await admin_client.start()
    topic = catalog_settings.topic("catalog.events")

    async def described() -> dict[str, Any] | None:
        found = (
            await admin_client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        )[0]
        resource = found.to_object()["resources"][0]
        return resource if resource["error_code"] == 0 else None

    try:
        resource = await eventually(described)
    finally:
        await admin_client.close()
    entries = {entry["config_names"]: entry["config_value"] for entry in resource["config_entries"]}
    assert entries["cleanup.policy"] == "compact"


async def test_the_page_served_from_memory_is_the_stored_one_and_a_new_version_shows_at_once(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    slug = (await create()).json()["slug"]
    await catalog.post(f"/api/v1/catalog/services/{slug}/publish", headers=admin)
    first = await catalog.get(f"/api/v1/catalog/services/{slug}")
    stored = await catalog.get(f"/api/v1/catalog/services/{slug}", params={"version": 1})
    assert first.json() == stored.json()  # memory (current) and database (by version) agree
    assert first.headers["ETag"] == stored.headers["ETag"]

    edit = await catalog.get(f"/api/v1/catalog/services/{slug}/draft", headers=admin)
    changed = body(service_input(slug)) | {"description": {"id": "Versi kedua.", "en": "Second."}}
    await catalog.put(
        f"/api/v1/catalog/services/{slug}/draft",
        json=changed,
        headers=admin | {"If-Match": edit.headers["ETag"]},
    )
    await catalog.post(f"/api/v1/catalog/services/{slug}/publish", headers=admin)
    second = await catalog.get(f"/api/v1/catalog/services/{slug}")
    assert second.json()["version"] == 2
    assert second.json()["description"]["en"] == "Second."
    assert second.headers["ETag"] != first.headers["ETag"]


async def test_an_agency_renamed_is_found_by_its_new_name_at_once(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    from ..conftest import agency

    code = "UJI-SAMSAT"
    assert (
        await catalog.put(
            f"/api/v1/catalog/agencies/{code}", json=body(agency(code)), headers=admin
        )
    ).status_code == 201
    created = await create(service_input(agency_code=code))
    slug = created.json()["slug"]
    assert (
        await catalog.post(f"/api/v1/catalog/services/{slug}/publish", headers=admin)
    ).status_code == 200

    async def found(words: str) -> list[str]:
        answer = await catalog.get("/api/v1/catalog/services", params={"q": words})
        assert answer.status_code == 200, answer.text
        return [item["slug"] for item in answer.json()["items"]]

    assert slug not in await found("Bapenda Kendaraan")
    renamed = body(agency(code)) | {
        "short_name": "Bapenda",
        "name": {"id": "Bapenda Kendaraan", "en": "Vehicle Revenue Office"},
    }
    assert (
        await catalog.put(f"/api/v1/catalog/agencies/{code}", json=renamed, headers=admin)
    ).status_code == 200
    assert slug in await found("Bapenda Kendaraan")


async def test_sensitive_fields_are_marked_and_published_and_misplaced_marks_refused(
    catalog: httpx.AsyncClient,
    create: Callable[..., Any],
    admin: dict[str, str],
    catalog_settings: Settings,
) -> None:
    fields = [
        FormField(name="child_name", type="string", label={"id": "Nama", "en": "Name"}),
        FormField(name="mother_nik", type="nik", label={"id": "NIK ibu", "en": "Mother's NIK"}),
        FormField(
            name="bank_account",
            type="string",
            sensitive=True,
            label={"id": "Rekening", "en": "Account"},
        ),
    ]
    data = service_input(form=fields)
    assert (await create(data)).status_code == 201
    published = await catalog.post(f"/api/v1/catalog/services/{data.slug}/publish", headers=admin)
    assert published.status_code == 200, published.text
    properties = published.json()["form_schema"]["properties"]
    marked = {name for name, spec in properties.items() if spec.get("x-sensitive") is True}
    assert marked == {"mother_nik", "bank_account"}, "a NIK is sensitive by default"

    records = await read_topic(
        catalog_settings.kafka_bootstrap,
        catalog_settings.topic("catalog.events"),
        until=lambda rs: any(r.key == published.json()["id"].encode() for r in rs),
    )
    [event] = [
        events.from_json(r.value or b"")
        for r in records
        if r.key == published.json()["id"].encode()
    ]
    assert event.data["form_schema"]["properties"]["mother_nik"]["x-sensitive"] is True

    for misplaced in (
        {"type": "object", "properties": {"nik": {"type": "string", "x-sensitive": "ya"}}},
        {"type": "object", "x-sensitive": True, "properties": {}},
        {
            "type": "object",
            "properties": {
                "child": {"type": "object", "properties": {"nik": {"x-sensitive": True}}}
            },
        },
    ):
        other = service_input()
        draft = body(other) | {"form_schema": misplaced}
        assert (
            await catalog.post("/api/v1/catalog/services", json=draft, headers=admin)
        ).is_success
        refused = await catalog.post(
            f"/api/v1/catalog/services/{other.slug}/publish",
            headers=admin | {"Accept-Language": "en"},
        )
        assert refused.status_code == 422, misplaced
        messages = [e["message"] for e in refused.json()["errors"] if e["field"] == "form_schema"]
        assert messages and "x-sensitive" in messages[0], refused.json()
