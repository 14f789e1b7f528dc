"""Which staff may read which citizen: only an agency handling an application of the citizen,
now or within 30 days after it ended, the NIK masked unless the service needs it whole; learnt
from `applications.events`, each event applied once however often it comes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity import handling, store
from gateway.settings import Settings
from mpp_shared import events, topics
from mpp_shared.kafka import by_type, create_producer
from mpp_shared.testing import eventually

from ..conftest import application_event, e164


def citizen_path(citizen: dict[str, Any]) -> str:
    return f"/api/v1/auth/citizens/{citizen['id']}"


def masked(nik: str) -> str:
    return nik[:4] + "********" + nik[12:]


async def test_an_officer_of_another_agency_gets_the_answer_an_unknown_citizen_gets(
    gateway: httpx.AsyncClient,
    staff: Callable[..., Any],
    register: Callable[..., Any],
    handles: Callable[..., Any],
) -> None:
    citizen = await register()
    await handles("DISDUKCAPIL", citizen["id"], requires_full_nik=True)
    _, samsat = await staff("officer", "SAMSAT")
    _, samsat_admin = await staff("agency_admin", "SAMSAT")

    refused = await gateway.get(citizen_path(citizen), headers=samsat)
    unknown = await gateway.get("/api/v1/auth/citizens/no-such-citizen", headers=samsat)
    by_admin = await gateway.get(citizen_path(citizen), headers=samsat_admin)
    assert (refused.status_code, unknown.status_code, by_admin.status_code) == (404, 404, 404)
    assert refused.headers["content-type"].startswith("application/problem+json")

    def without_instance(response: httpx.Response) -> dict[str, Any]:
        return {k: v for k, v in response.json().items() if k not in ("instance", "request_id")}

    assert without_instance(refused) == without_instance(unknown)
    assert citizen["nik"] not in refused.text and citizen["name"] not in refused.text


async def test_an_officer_of_no_agency_handling_the_citizen_is_refused_and_audited(
    gateway: httpx.AsyncClient,
    admin: dict[str, str],
    staff: Callable[..., Any],
    register: Callable[..., Any],
) -> None:
    citizen = await register()  # who never applied anywhere
    account, officer = await staff("officer", "DISDUKCAPIL")
    assert (await gateway.get(citizen_path(citizen), headers=officer)).status_code == 404
    audit = await gateway.get(f"/api/v1/auth/audit?actor={account['id']}", headers=admin)
    [entry] = audit.json()["items"]
    assert (entry["resource"], entry["status"]) == (citizen_path(citizen), 404)


async def test_the_handling_agency_reads_the_contacts_and_the_masked_nik(
    gateway: httpx.AsyncClient,
    staff: Callable[..., Any],
    register: Callable[..., Any],
    handles: Callable[..., Any],
) -> None:
    citizen = await register(email="andi@example.id")
    await handles("SAMSAT", citizen["id"])
    for role in ("officer", "agency_admin"):
        _, headers = await staff(role, "SAMSAT")
        read = await gateway.get(citizen_path(citizen), headers=headers)
        assert read.status_code == 200, read.text
        view = read.json()
        assert view["nik_masked"] == masked(citizen["nik"])
        assert view["nik"] is None
        assert citizen["nik"] not in read.text, "the whole NIK nowhere in the answer"
        assert (view["name"], view["phone"], view["email"]) == (
            citizen["name"],
            e164(citizen["phone"]),
            "andi@example.id",
        )


async def test_the_whole_nik_only_to_the_agency_whose_service_needs_it(
    gateway: httpx.AsyncClient,
    admin: dict[str, str],
    staff: Callable[..., Any],
    register: Callable[..., Any],
    handles: Callable[..., Any],
) -> None:
    citizen = await register()
    await handles("DISDUKCAPIL", citizen["id"])  # a service that needs only the masked NIK
    await handles("DISDUKCAPIL", citizen["id"], requires_full_nik=True)  # a KTP, say
    await handles("SAMSAT", citizen["id"])
    _, dukcapil = await staff("officer", "DISDUKCAPIL")
    _, samsat = await staff("officer", "SAMSAT")

    whole = (await gateway.get(citizen_path(citizen), headers=dukcapil)).json()
    other = (await gateway.get(citizen_path(citizen), headers=samsat)).json()
    mall = (await gateway.get(citizen_path(citizen), headers=admin)).json()
    assert (whole["nik"], whole["nik_masked"]) == (citizen["nik"], masked(citizen["nik"]))
    assert (other["nik"], other["nik_masked"]) == (None, masked(citizen["nik"]))
    assert (mall["nik"], mall["nik_masked"]) == (None, masked(citizen["nik"])), "MPP admins"


async def test_an_ended_application_allows_reads_for_30_days_and_then_no_more(
    gateway: httpx.AsyncClient,
    staff: Callable[..., Any],
    register: Callable[..., Any],
    feed: Callable[..., Any],
) -> None:
    recent, old, own_end = await register(), await register(), await register()
    now = datetime.now(UTC)
    for citizen, kind, ended, extra in [
        (recent, "completed", now - timedelta(days=29), {}),
        (old, "rejected", now - timedelta(days=31), {}),
        # A service's own end state, which only the step says ends its workflow.
        (
            own_end,
            "status_changed",
            now - timedelta(days=31),
            {"state": "withdrawn", "terminal": True},
        ),
    ]:
        submitted = application_event(
            "submitted", citizen_id=citizen["id"], agency="BPN", at=ended - timedelta(days=5)
        )
        end = application_event(
            kind,
            citizen_id=citizen["id"],
            agency="BPN",
            application_id=submitted.subject,
            at=ended,
            **extra,
        )
        await feed(submitted, end)
    _, officer = await staff("officer", "BPN")
    assert (await gateway.get(citizen_path(recent), headers=officer)).status_code == 200
    assert (await gateway.get(citizen_path(old), headers=officer)).status_code == 404
    assert (await gateway.get(citizen_path(own_end), headers=officer)).status_code == 404


async def handling_row(engine: AsyncEngine, application_id: str) -> dict[str, Any]:
    t = store.handled_applications
    async with engine.connect() as connection:
        found = await connection.execute(select(t).where(t.c.application_id == application_id))
        return dict(found.one()._mapping)


async def test_each_application_event_delivered_twice_changes_nothing(
    engine: AsyncEngine, register: Callable[..., Any], feed: Callable[..., Any]
) -> None:
    citizen = await register(verified=False)

    async def row(application_id: str) -> dict[str, Any]:
        return await handling_row(engine, application_id)

    submitted = application_event(
        "submitted", citizen_id=citizen["id"], agency="KPP", requires_full_nik=True
    )
    step = application_event(
        "status_changed", citizen_id=citizen["id"], agency="KPP", application_id=submitted.subject
    )
    completed = application_event(
        "completed",
        citizen_id=citizen["id"],
        agency="KPP",
        application_id=submitted.subject,
        at=datetime.now(UTC) - timedelta(days=2),
    )
    await feed(submitted, submitted, step, step)
    open_row = await row(submitted.subject)
    assert (open_row["open"], open_row["requires_full_nik"]) == (True, True)
    await feed(completed, completed)
    closed = await row(submitted.subject)
    assert (closed["open"], closed["closed_at"]) == (False, completed.time)

    # Past the inbox too (an id it has forgotten): the handlers change nothing a second time,
    # an ended application does not open again and keeps its first end.
    later = application_event(
        "completed", citizen_id=citizen["id"], agency="KPP", application_id=submitted.subject
    )
    async with engine.begin() as connection:
        for event in (submitted, step, completed, later):
            await by_type(handling.HANDLERS)[event.type](event, connection)
    assert await row(submitted.subject) == closed


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("rejected", {}),
        ("cancelled", {}),
        ("status_changed", {"state": "withdrawn", "terminal": True}),
    ],
)
async def test_each_end_of_an_application_delivered_twice_ends_it_once(
    engine: AsyncEngine,
    register: Callable[..., Any],
    feed: Callable[..., Any],
    kind: str,
    extra: dict[str, Any],
) -> None:
    citizen = await register(verified=False)
    submitted = application_event("submitted", citizen_id=citizen["id"], agency="KPP")
    ended = application_event(
        kind,
        citizen_id=citizen["id"],
        agency="KPP",
        application_id=submitted.subject,
        at=datetime.now(UTC) - timedelta(days=1),
        **extra,
    )
    await feed(submitted, ended)
    once = await handling_row(engine, submitted.subject)
    assert (once["open"], once["closed_at"]) == (False, ended.time)
    await feed(ended)
    assert await handling_row(engine, submitted.subject) == once
    async with engine.begin() as connection:  # past the inbox: the handler itself is idempotent
        await by_type(handling.HANDLERS)[ended.type](ended, connection)
    assert await handling_row(engine, submitted.subject) == once


async def test_the_gateway_learns_from_the_applications_topic(
    gateway: httpx.AsyncClient,
    gateway_settings: Settings,
    staff: Callable[..., Any],
    register: Callable[..., Any],
) -> None:
    citizen = await register()
    agency = f"DINAS{secrets.token_hex(2).upper()}"
    _, officer = await staff("officer", agency)
    assert (await gateway.get(citizen_path(citizen), headers=officer)).status_code == 404

    submitted = application_event("submitted", citizen_id=citizen["id"], agency=agency)
    producer = create_producer(gateway_settings)
    await producer.start()
    try:
        record = events.to_kafka(submitted)
        await producer.send_and_wait(
            gateway_settings.topic(topics.APPLICATIONS),
            value=record.value,
            key=str(record.key).encode(),
            headers=list(record.headers.items()),
        )
    finally:
        await producer.stop()

    async def readable() -> bool:
        read = await gateway.get(citizen_path(citizen), headers=officer)
        return read.status_code == 200

    await eventually(readable, timeout=60)
