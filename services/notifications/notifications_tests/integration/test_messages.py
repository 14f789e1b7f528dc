"""Messages for citizens on every channel, on the real store, bus and Mailpit: once per event
however often it arrives, retried through failures, tracked to the end."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx

from mpp_shared.testing import KAFKA, Tokens, eventually, mailbox, read_topic, sms_address
from notifications import messages
from notifications.settings import Settings

from ..conftest import citizen, event, notifications_settings, submitted


async def messages_of(notifications: httpx.AsyncClient, event_id: str) -> list[dict[str, Any]]:
    db = notifications.app.state.runtime.db  # type: ignore[attr-defined]
    return [m async for m in db["messages"].find({"event_id": event_id})]


async def test_a_submitted_application_reaches_the_citizen_by_email_sms_and_inbox(
    notifications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    person = citizen()
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    application = submitted(person.citizen_id)
    happened = event(
        "applications.application.submitted.v1",
        application.application_id,
        application,
        "applications",
    )
    await feed(happened)

    [mail] = await eventually(lambda: mailbox(person.email or ""), timeout=20)
    assert application.tracking_number in mail["Text"]
    assert "Permohonan" in mail["Subject"] or "permohonan" in mail["Text"], "Indonesian by default"
    [sms] = await eventually(lambda: mailbox(sms_address(person.phone)), timeout=20)
    assert application.tracking_number in sms["Text"]

    inbox = await notifications.get(
        "/api/v1/notifications", headers=tokens.headers("citizen", subject=person.citizen_id)
    )
    assert inbox.status_code == 200, inbox.text
    assert inbox.json()["unread"] == 1
    [item] = inbox.json()["items"]
    assert application.tracking_number in item["text"]


async def test_an_event_read_before_the_citizens_contact_is_sent_when_the_contact_comes(
    notifications: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    """Identity's topic is read beside the applications': the registration may come second."""
    person = citizen()
    application = submitted(person.citizen_id)
    happened = event(
        "applications.application.submitted.v1",
        application.application_id,
        application,
        "applications",
    )
    await feed(happened)
    assert await messages_of(notifications, happened.id) == [], "nobody known to tell yet"
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    stored = await messages_of(notifications, happened.id)
    assert sorted(m["channel"] for m in stored) == ["email", "inbox", "sms"]
    [mail] = await eventually(lambda: mailbox(person.email or ""), timeout=20)
    assert application.tracking_number in mail["Text"]
    db = notifications.app.state.runtime.db  # type: ignore[attr-defined]
    assert await db[messages.WAITING].count_documents({"citizen_id": person.citizen_id}) == 0


async def test_the_same_event_twice_sends_each_message_once(
    notifications: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    person = citizen()
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    application = submitted(person.citizen_id)
    happened = event(
        "applications.application.submitted.v1",
        application.application_id,
        application,
        "applications",
    )
    await feed(happened, happened)
    await eventually(lambda: mailbox(person.email or ""), timeout=20)
    stored = await messages_of(notifications, happened.id)
    assert sorted(m["channel"] for m in stored) == ["email", "inbox", "sms"]
    await eventually(lambda: _all_delivered(notifications, happened.id), timeout=20)
    assert len(await mailbox(person.email or "")) == 1
    assert len(await mailbox(sms_address(person.phone))) == 1


async def _all_delivered(notifications: httpx.AsyncClient, event_id: str) -> bool:
    stored = await messages_of(notifications, event_id)
    return bool(stored) and all(m["status"] == "delivered" for m in stored)


async def test_a_provider_failing_twice_then_succeeding_delivers_once(
    notifications: httpx.AsyncClient,
    tokens: Tokens,
    feed: Callable[..., Any],
    settings: Settings,
) -> None:
    person = citizen(email=None)
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    scripted = await notifications.post(
        "/api/v1/notifications/sandbox/script",
        json={"to": person.phone, "outcomes": ["temporary-failure", "temporary-failure"]},
        headers=tokens.headers("mpp_admin"),
    )
    assert scripted.status_code == 204, scripted.text
    application = submitted(person.citizen_id)
    happened = event(
        "applications.application.submitted.v1",
        application.application_id,
        application,
        "applications",
    )
    await feed(happened)

    async def sms_delivered() -> dict[str, Any] | None:
        stored = [m for m in await messages_of(notifications, happened.id) if m["channel"] == "sms"]
        return stored[0] if stored and stored[0]["status"] == "delivered" else None

    sms = await eventually(sms_delivered, timeout=30)
    assert sms["attempts"] == 3
    assert [h["status"] for h in sms["history"]] == [
        "temporary-failure",
        "temporary-failure",
        "delivered",
    ]
    assert len(await mailbox(sms_address(person.phone))) == 1

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        found = (json.loads(r.value) for r in records)
        return [e for e in found if e["subject"] == sms["_id"]]

    seen = await read_topic(
        KAFKA, settings.topic("notifications.events"), until=lambda r: bool(ours(r))
    )
    [delivered] = ours(seen)
    assert delivered["type"] == "notifications.notification.delivered.v1"
    assert delivered["data"]["attempts"] == 3


async def test_an_unreachable_mail_server_means_retries_not_a_lost_message(
    notifications: httpx.AsyncClient, namespace: str
) -> None:
    db = notifications.app.state.runtime.db  # type: ignore[attr-defined]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # out of the running loop's reach
    message_id = f"msg-{secrets.token_hex(4)}"
    await db["messages"].insert_one(
        {
            "_id": message_id,
            "event_id": "evt",
            "event_type": "applications.application.submitted.v1",
            "channel": "email",
            "to": "andi@example.id",
            "citizen_id": "c",
            "subject": "Uji",
            "text": "Uji",
            "status": "created",
            "attempts": 0,
            "next_attempt_at": later,
            "history": [],
            "version": 1,
        }
    )
    away = notifications_settings(namespace, smtp_port=9, retry_initial_seconds=60)
    async with httpx.AsyncClient() as http:
        sender = messages.Sender(db, away, http)
        assert await sender.attempt(message_id, later) == 1
    mail = await db["messages"].find_one({"_id": message_id})
    assert mail["status"] == "technical-failure"
    assert mail["next_attempt_at"] > later, "scheduled again, not dropped"
    assert mail["attempts"] == 1


async def test_inbox_read_marks_and_privacy(
    notifications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    person = citizen()
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    for _ in range(2):
        application = submitted(person.citizen_id)
        await feed(
            event(
                "applications.application.submitted.v1",
                application.application_id,
                application,
                "applications",
            )
        )
    headers = tokens.headers("citizen", subject=person.citizen_id)
    items = (await notifications.get("/api/v1/notifications", headers=headers)).json()["items"]
    assert len(items) == 2
    stranger = tokens.headers("citizen", subject="someone-else")
    assert (
        await notifications.post(f"/api/v1/notifications/{items[0]['id']}/read", headers=stranger)
    ).status_code == 404
    assert (
        await notifications.post(f"/api/v1/notifications/{items[0]['id']}/read", headers=headers)
    ).status_code == 204
    count = await notifications.get("/api/v1/notifications/unread-count", headers=headers)
    assert count.json() == {"unread": 1}
    unread = await notifications.get("/api/v1/notifications?unread=true", headers=headers)
    assert [i["id"] for i in unread.json()["items"]] == [items[1]["id"]]


async def test_preferences_turn_channels_off(
    notifications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    person = citizen()
    headers = tokens.headers("citizen", subject=person.citizen_id)
    chosen = await notifications.put(
        "/api/v1/notifications/preferences",
        json={"channels": {"email": False, "sms": True, "whatsapp": False, "push": True}},
        headers=headers,
    )
    assert chosen.status_code == 200, chosen.text
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    application = submitted(person.citizen_id)
    happened = event(
        "applications.application.submitted.v1",
        application.application_id,
        application,
        "applications",
    )
    await feed(happened)
    channels = sorted(m["channel"] for m in await messages_of(notifications, happened.id))
    assert channels == ["inbox", "sms"]
    bad = await notifications.put(
        "/api/v1/notifications/preferences", json={"channels": {"pigeon": True}}, headers=headers
    )
    assert bad.status_code == 422


async def test_an_sla_breach_is_mailed_to_the_agencys_administrators(
    notifications: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    from mpp_shared.contracts.applications import SlaBreached
    from mpp_shared.contracts.identity import StaffUpdated

    agency = f"DINAS{secrets.token_hex(2).upper()}"
    admin = StaffUpdated(
        staff_id=f"staff-{secrets.token_hex(3)}",
        name="Kepala Dinas",
        role="agency_admin",
        agency=agency,
        email=f"kadis.{secrets.token_hex(3)}@example.id",
        active=True,
    )
    officer = admin.model_copy(
        update={"staff_id": "o1", "role": "officer", "email": "o@example.id"}
    )
    away = admin.model_copy(
        update={
            "staff_id": "a2",
            "email": f"cuti.{secrets.token_hex(3)}@example.id",
            "active": False,
        }
    )
    for person in (admin, officer, away):
        await feed(event("identity.staff.updated.v1", person.staff_id, person, "gateway"))
    breach = SlaBreached(
        application_id="app-late",
        tracking_number=f"SNJ-{agency}-20261127-000009",
        service_id="svc",
        service_version=1,
        agency=agency,
        citizen_id="c",
        state="in_review",
        clock="overall",
        breached_due_at=dt.datetime(2026, 11, 27, 15, 59, 59, tzinfo=dt.UTC),
    )
    await feed(
        event("applications.application.sla_breached.v1", "app-late", breach, "applications")
    )
    [mail] = await eventually(lambda: mailbox(admin.email or ""), timeout=20)
    assert breach.tracking_number in mail["Subject"]
    assert "melewati tenggat" in mail["Text"] and "Kepala Dinas" in mail["Text"]
    assert await mailbox(away.email or "") == [], "switched-off accounts are not told"
