"""The applicant on the officer's work: names from identity events on the inbox and the page, so
everyday work asks the gateway for no identity; and what the application events tell the
gateway about who may read the applicant (the full-NIK need, the end of the workflow)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import citizens_view
from applications.settings import Settings
from mpp_shared.kafka import by_type
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import AGENCY, citizen_event
from .test_applications import apply


async def test_the_officer_sees_the_applicants_name_on_the_inbox_and_the_page(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    tell_identity: Callable[..., Any],
) -> None:
    citizen_id = f"citizen-{secrets.token_hex(4)}"
    service = await publish_service()
    created = (await apply(applications, tokens, upload, service, citizen_id)).json()
    path = f"/api/v1/applications/{created['id']}"
    officer = tokens.headers("officer", subject="officer-n", agency=AGENCY)

    async def names_seen(headers: dict[str, str]) -> tuple[Any, Any]:
        inbox = await applications.get(
            "/api/v1/applications/inbox", params={"limit": 100}, headers=headers
        )
        assert inbox.status_code == 200, inbox.text
        [item] = [i for i in inbox.json()["items"] if i["id"] == created["id"]]
        page = await applications.get(path, headers=headers)
        assert page.status_code == 200, page.text
        return item["applicant_name"], page.json()["applicant_name"]

    assert await names_seen(officer) == (None, None), "not known yet"
    await tell_identity(citizen_event(citizen_id, "Andi Baso"))
    assert await names_seen(officer) == ("Andi Baso", "Andi Baso")
    await tell_identity(citizen_event(citizen_id, "Andi Baso Mappa", registered=False))
    assert await names_seen(officer) == ("Andi Baso Mappa", "Andi Baso Mappa")

    started = await applications.post(f"{path}/actions/start_review", headers=officer)
    assert started.json()["applicant_name"] == "Andi Baso Mappa", "on an action's answer too"
    mall = tokens.headers("mpp_admin", subject="admin-n")
    assert (await applications.get(path, headers=mall)).json()["applicant_name"] == (
        "Andi Baso Mappa"
    )
    own = await applications.get(path, headers=tokens.headers("citizen", subject=citizen_id))
    viewer = await applications.get(path, headers=tokens.headers("ops_viewer", subject="ops-n"))
    assert own.json()["applicant_name"] is None, "staff views only"
    assert viewer.json()["applicant_name"] is None, "the command center needs no names"


async def test_a_citizens_name_delivered_twice_is_kept_once(
    engine: AsyncEngine, tell_identity: Callable[..., Any]
) -> None:
    citizen_id = f"citizen-{secrets.token_hex(4)}"
    registered = citizen_event(citizen_id, "Rahmawati")
    renamed = citizen_event(citizen_id, "Rahmawati Daeng", registered=False)
    await tell_identity(registered, registered, renamed, renamed)
    async with engine.connect() as connection:
        assert await citizens_view.names(connection, [citizen_id, "unknown"]) == {
            citizen_id: "Rahmawati Daeng"
        }
    async with engine.begin() as connection:  # past the inbox: the handler itself is idempotent
        handle = by_type(citizens_view.HANDLERS)[renamed.type]
        await handle(renamed, connection)
        await handle(renamed, connection)
        assert await citizens_view.names(connection, [citizen_id]) == {
            citizen_id: "Rahmawati Daeng"
        }


async def test_the_events_tell_the_full_nik_need_and_the_end_of_the_workflow(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    identity_card = await publish_service(requires_full_nik=True)
    permit = await publish_service()
    citizen_id = f"citizen-{secrets.token_hex(4)}"
    card = (await apply(applications, tokens, upload, identity_card, citizen_id)).json()
    other = (await apply(applications, tokens, upload, permit, citizen_id)).json()
    cancelled = await applications.post(
        f"/api/v1/applications/{other['id']}/actions/cancel",
        headers=tokens.headers("citizen", subject=citizen_id),
    )
    assert cancelled.status_code == 200, cancelled.text

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        wanted = {card["id"], other["id"]}
        return [e for e in (json.loads(r.value) for r in records) if e["subject"] in wanted]

    seen = await read_topic(
        KAFKA,
        applications_settings.topic("applications.events"),
        until=lambda r: len(ours(r)) >= 4,
    )
    by_kind = {(e["subject"], e["type"].split(".")[2]): e["data"] for e in ours(seen)}
    assert by_kind[(card["id"], "submitted")]["requires_full_nik"] is True
    assert by_kind[(other["id"], "submitted")]["requires_full_nik"] is False
    assert by_kind[(other["id"], "status_changed")]["terminal"] is True
    assert by_kind[(other["id"], "cancelled")]["state"] == "cancelled"
