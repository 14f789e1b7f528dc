"""Staff accounts and what each role may do at the gateway; partners' keys; the audit of staff
reading citizens' personal data; rate limits."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity import store
from gateway.settings import Settings
from mpp_shared import events, topics
from mpp_shared.contracts.reads import ApplicationsDataRead

from ..conftest import PASSWORD, bearer, make_gateway_settings, sign_in, started


async def test_agency_admins_manage_only_their_own_officers(
    gateway: httpx.AsyncClient, staff: Callable[..., Any], register: Callable[..., Any]
) -> None:
    _, agency_admin = await staff("agency_admin", "DUKCAPIL")
    own, _ = await staff("officer", "DUKCAPIL", by=agency_admin)
    assert (own["role"], own["agency"]) == ("officer", "DUKCAPIL")
    body = {"username": "petugas.lain", "name": "Petugas Lain", "password": PASSWORD}
    other = await gateway.post(
        "/api/v1/auth/staff",
        json=body | {"role": "officer", "agency": "SAMSAT"},
        headers=agency_admin,
    )
    assert other.status_code == 403
    promoted = await gateway.post(
        "/api/v1/auth/staff", json=body | {"role": "mpp_admin"}, headers=agency_admin
    )
    assert promoted.status_code == 403
    _, officer = await staff("officer", "DUKCAPIL")
    citizen = await register()
    for caller in (officer, bearer(citizen["tokens"])):
        response = await gateway.post(
            "/api/v1/auth/staff",
            json=body | {"role": "officer", "agency": "DUKCAPIL"},
            headers=caller,
        )
        assert response.status_code == 403
    listed = await gateway.get("/api/v1/auth/staff?agency=SAMSAT", headers=agency_admin)
    assert listed.status_code == 200
    assert {s["agency"] for s in listed.json()} == {"DUKCAPIL"}, "always their own agency"


async def test_staff_need_an_agency_exactly_when_their_role_has_one(
    gateway: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"username": "tanpa.instansi", "name": "Tanpa Instansi", "password": PASSWORD}
    officer = await gateway.post(
        "/api/v1/auth/staff", json=body | {"role": "officer"}, headers=admin
    )
    assert officer.status_code == 422
    assert officer.json()["errors"][0]["field"] == "agency"
    viewer = await gateway.post(
        "/api/v1/auth/staff",
        json=body | {"role": "ops_viewer", "agency": "DUKCAPIL"},
        headers=admin,
    )
    assert viewer.status_code == 422


async def test_a_username_is_taken_once(
    gateway: httpx.AsyncClient, admin: dict[str, str], staff: Callable[..., Any]
) -> None:
    account, _ = await staff("ops_viewer")
    again = await gateway.post(
        "/api/v1/auth/staff",
        json={
            "username": account["username"],
            "name": "Kembar",
            "role": "ops_viewer",
            "password": PASSWORD,
        },
        headers=admin,
    )
    assert again.status_code == 409


async def test_an_operations_viewer_cannot_change_anything(
    gateway: httpx.AsyncClient, staff: Callable[..., Any]
) -> None:
    _, viewer = await staff("ops_viewer")
    for method, path in [
        ("POST", "/api/v1/applications"),
        ("PUT", "/api/v1/catalog/agencies/DUKCAPIL"),
        ("DELETE", "/api/v1/bookings/x"),
        ("PATCH", "/api/v1/notifications/preferences"),
        ("POST", "/api/v1/auth/staff"),
    ]:
        response = await gateway.request(method, path, headers=viewer, json={})
        assert response.status_code == 403, (method, path, response.text)
    looked = await gateway.get("/api/v1/ops/summary", headers=viewer)
    assert looked.status_code == 503, "reads are let through (no service runs in this test)"


async def test_citizens_cannot_reach_the_command_center(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    citizen = await register()
    response = await gateway.get("/api/v1/ops/summary", headers=bearer(citizen["tokens"]))
    assert response.status_code == 403


async def test_a_switched_off_staff_account_loses_its_sessions(
    gateway: httpx.AsyncClient, admin: dict[str, str], staff: Callable[..., Any]
) -> None:
    account, officer = await staff("officer", "SAMSAT")
    off = await gateway.patch(
        f"/api/v1/auth/staff/{account['id']}", json={"active": False}, headers=admin
    )
    assert off.status_code == 200, off.text
    assert (await gateway.get("/api/v1/auth/me", headers=officer)).status_code == 401
    assert (await sign_in(gateway, account["username"], PASSWORD)).status_code == 401


async def test_staff_reads_of_a_citizen_are_audited(
    gateway: httpx.AsyncClient,
    admin: dict[str, str],
    staff: Callable[..., Any],
    register: Callable[..., Any],
    handles: Callable[..., Any],
) -> None:
    citizen = await register()
    await handles("DUKCAPIL", citizen["id"], requires_full_nik=True)
    account, officer = await staff("officer", "DUKCAPIL")
    read = await gateway.get(f"/api/v1/auth/citizens/{citizen['id']}", headers=officer)
    assert read.status_code == 200, read.text
    assert read.json()["nik"] == citizen["nik"]
    other = await register()
    refused = await gateway.get(
        f"/api/v1/auth/citizens/{other['id']}", headers=bearer(citizen["tokens"])
    )
    assert refused.status_code == 403
    audit = await gateway.get(f"/api/v1/auth/audit?actor={account['id']}", headers=admin)
    assert audit.status_code == 200, audit.text
    [entry] = audit.json()["items"]
    assert entry["resource"] == f"/api/v1/auth/citizens/{citizen['id']}"
    assert (entry["actor_role"], entry["actor_agency"], entry["status"]) == (
        "officer",
        "DUKCAPIL",
        200,
    )
    assert (await gateway.get("/api/v1/auth/audit", headers=officer)).status_code == 403


async def test_partner_keys_carry_scopes_and_can_be_revoked(
    gateway: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await gateway.post(
        "/api/v1/auth/partner-keys",
        json={
            "name": "BPJS Kesehatan Sinjai",
            "agency": "BPJSKES",
            "scopes": ["subscriptions:write"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    partner = {"X-API-Key": key}
    subscribe = await gateway.post("/api/v1/partners/subscriptions", json={}, headers=partner)
    assert subscribe.status_code == 503, "admitted (no notifications service runs here)"
    outside = await gateway.get("/api/v1/applications", headers=partner)
    assert outside.status_code == 403
    assert (await gateway.get("/api/v1/auth/me", headers=partner)).status_code == 401
    listed = await gateway.get("/api/v1/auth/partner-keys", headers=admin)
    assert all("key" not in k or k["key"] is None for k in listed.json()), "secrets are shown once"
    revoked = await gateway.delete(
        f"/api/v1/auth/partner-keys/{created.json()['id']}", headers=admin
    )
    assert revoked.status_code == 204
    after = await gateway.post("/api/v1/partners/subscriptions", json={}, headers=partner)
    assert after.status_code == 401
    forged = await gateway.get("/api/v1/partners/x", headers={"X-API-Key": key[:-2] + "xx"})
    assert forged.status_code == 401


async def test_sign_in_attempts_per_client_are_limited(
    namespace: str, postgres: object, kafka: str
) -> None:
    settings: Settings = make_gateway_settings(namespace, rate_limit_auth_per_client="3/minute")
    async for client in started(settings):
        answers = [(await sign_in(client, "nobody", "nothing")).status_code for _ in range(4)]
        assert answers == [401, 401, 401, 429]
        limited = await sign_in(client, "nobody", "nothing")
        assert int(limited.headers["Retry-After"]) > 0
        assert limited.json()["type"] == "/problems/rate-limited"
        other = await client.get("/api/v1/.well-known/jwks.json")
        assert other.status_code == 200, "other calls are under the general limit"


async def test_staff_changes_are_events_without_secrets(
    gateway: httpx.AsyncClient, admin: dict[str, str], gateway_settings: Settings
) -> None:
    import json

    from mpp_shared.testing import KAFKA, read_topic

    body = {
        "username": "kadis.uji",
        "name": "Kepala Dinas Uji",
        "role": "agency_admin",
        "agency": "DUKCAPIL",
        "email": "kadis@example.id",
        "password": PASSWORD,
    }
    created = await gateway.post("/api/v1/auth/staff", json=body, headers=admin)
    assert created.status_code == 201, created.text
    staff_id = created.json()["id"]
    off = await gateway.patch(
        f"/api/v1/auth/staff/{staff_id}", json={"active": False}, headers=admin
    )
    assert off.status_code == 200

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [e for e in (json.loads(r.value) for r in records) if e["subject"] == staff_id]

    seen = await read_topic(
        KAFKA, gateway_settings.topic("identity.events"), until=lambda r: len(ours(r)) >= 2
    )
    first, second = ours(seen)[:2]
    assert first["type"] == second["type"] == "identity.staff.updated.v1"
    assert (first["data"]["email"], first["data"]["active"]) == ("kadis@example.id", True)
    assert second["data"]["active"] is False
    assert PASSWORD not in json.dumps(first) and "argon2" not in json.dumps(first)


async def test_the_audit_log_pages_newest_first(
    gateway: httpx.AsyncClient,
    admin: dict[str, str],
    staff: Callable[..., Any],
    register: Callable[..., Any],
    handles: Callable[..., Any],
) -> None:
    citizens = [await register(verified=False) for _ in range(3)]
    account, officer = await staff("officer", "DUKCAPIL")
    for citizen in citizens:
        await handles("DUKCAPIL", citizen["id"])
    for citizen in citizens:
        read = await gateway.get(f"/api/v1/auth/citizens/{citizen['id']}", headers=officer)
        assert read.status_code == 200, read.text
    query = f"/api/v1/auth/audit?actor={account['id']}&limit=2"
    first = (await gateway.get(query, headers=admin)).json()
    assert first["next_cursor"]
    second = (await gateway.get(f"{query}&cursor={first['next_cursor']}", headers=admin)).json()
    assert second["next_cursor"] is None
    resources = [e["resource"] for e in first["items"] + second["items"]]
    assert resources == [f"/api/v1/auth/citizens/{c['id']}" for c in reversed(citizens)]
    garbage = await gateway.get(f"{query}&cursor=not-a-cursor", headers=admin)
    assert garbage.status_code == 400


async def test_a_services_audit_line_delivered_twice_is_kept_once(
    engine: AsyncEngine, feed: Callable[..., Any]
) -> None:
    actor = f"officer-{secrets.token_hex(4)}"
    read = ApplicationsDataRead(
        at=datetime.now(UTC),
        actor=actor,
        actor_role="officer",
        actor_agency="DUKCAPIL",
        method="GET",
        resource="/api/v1/applications/app-1",
        status=200,
    )
    event = events.new_event(read, source=topics.source_of("applications"), subject=actor)
    await feed(event, event)
    async with engine.connect() as connection:
        page = await store.audit_entries(connection, actor=actor, cursor=None, limit=10)
    assert [(e.id, e.resource) for e in page.items] == [(event.id, read.resource)]
