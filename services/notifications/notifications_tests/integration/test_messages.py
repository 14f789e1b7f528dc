"""Messages for citizens on every channel, on the real store, bus and Mailpit: once per event
however often it arrives, retried through failures, tracked to the end."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from mpp_shared import db
from mpp_shared.contracts.applications import SlaBreached
from mpp_shared.testing import (
    KAFKA,
    Databases,
    Tokens,
    eventually,
    mailbox,
    read_topic,
    sms_address,
)
from notifications import messages, store
from notifications.contacts import store as contacts
from notifications.models import Message
from notifications.providers import Outcome
from notifications.settings import Settings

from ..conftest import (
    FakeInfobip,
    citizen,
    engine_of,
    event,
    notifications_settings,
    own_database,
    submitted,
)


async def messages_of(notifications: httpx.AsyncClient, event_id: str) -> list[Message]:
    async with engine_of(notifications).connect() as connection:
        return await store.messages_of_event(connection, event_id)


async def find(notifications: httpx.AsyncClient, message_id: str) -> Message:
    async with engine_of(notifications).connect() as connection:
        found = await store.find_message(connection, message_id)
    assert found is not None
    return found


def stored_email(message_id: str, *, due: dt.datetime, to: str = "andi@example.id") -> Message:
    """A message waiting for its first attempt at `due`."""
    now = dt.datetime.now(dt.UTC)
    return Message(
        id=message_id,
        event_id=f"evt-{message_id}",
        event_type="applications.application.submitted.v1",
        channel="email",
        to=to,
        citizen_id="c",
        subject="Uji",
        text="Uji",
        status="created",
        attempts=0,
        next_attempt_at=due,
        created_at=now,
        updated_at=now,
    )


async def put(notifications: httpx.AsyncClient, *stored: Message) -> None:
    async with db.transaction(engine_of(notifications)) as connection:
        for message in stored:
            assert await store.insert_message(connection, message)


async def test_a_submitted_application_reaches_the_citizen_by_email_sms_and_inbox(
    notifications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    person = citizen()
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    application = submitted(person.citizen_id, check_code="K7QX4M")
    happened = event(
        "applications.application.submitted.v1",
        application.application_id,
        application,
        "applications",
    )
    await feed(happened)

    link = f"/track/{application.tracking_number}-K7QX4M"
    [mail] = await eventually(lambda: mailbox(person.email or ""), timeout=20)
    assert application.tracking_number in mail["Text"]
    assert link in mail["Text"] and "Kode lacak: K7QX4M" in mail["Text"]
    assert "Permohonan" in mail["Subject"] or "permohonan" in mail["Text"], "Indonesian by default"
    [sms] = await eventually(lambda: mailbox(sms_address(person.phone)), timeout=20)
    assert application.tracking_number in sms["Text"]
    assert sms["Text"].rstrip().endswith(link), "the SMS opens the tracking page with its code"

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
    assert sorted(m.channel for m in stored) == ["email", "inbox", "sms"]
    [mail] = await eventually(lambda: mailbox(person.email or ""), timeout=20)
    assert application.tracking_number in mail["Text"]
    waiting = select(func.count()).where(
        contacts.waiting_for_contact.c.citizen_id == person.citizen_id
    )
    async with engine_of(notifications).connect() as connection:
        assert (await connection.execute(waiting)).scalar_one() == 0


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
    assert sorted(m.channel for m in stored) == ["email", "inbox", "sms"]
    await eventually(lambda: _all_delivered(notifications, happened.id), timeout=20)
    assert len(await mailbox(person.email or "")) == 1
    assert len(await mailbox(sms_address(person.phone))) == 1


async def _all_delivered(notifications: httpx.AsyncClient, event_id: str) -> bool:
    stored = await messages_of(notifications, event_id)
    return bool(stored) and all(m.status == "delivered" for m in stored)


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

    async def sms_delivered() -> Message | None:
        stored = [m for m in await messages_of(notifications, happened.id) if m.channel == "sms"]
        return stored[0] if stored and stored[0].status == "delivered" else None

    sms = await eventually(sms_delivered, timeout=30)
    assert sms.attempts == 3
    async with engine_of(notifications).connect() as connection:
        history = await store.history(connection, sms.id)
    assert [h.status for h in history] == [
        "temporary-failure",
        "temporary-failure",
        "delivered",
    ]
    assert len(await mailbox(sms_address(person.phone))) == 1

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        found = (json.loads(r.value) for r in records)
        return [e for e in found if e["subject"] == sms.id]

    seen = await read_topic(
        KAFKA, settings.topic("notifications.events"), until=lambda r: bool(ours(r))
    )
    [delivered] = ours(seen)
    assert delivered["type"] == "notifications.notification.delivered.v1"
    assert delivered["data"]["attempts"] == 3


async def test_an_unreachable_mail_server_means_retries_not_a_lost_message(
    notifications: httpx.AsyncClient, namespace: str
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # out of the running loop's reach
    message_id = f"msg-{secrets.token_hex(4)}"
    await put(notifications, stored_email(message_id, due=later))
    away = notifications_settings(namespace, smtp_port=9, retry_initial_seconds=60)
    async with httpx.AsyncClient() as http:
        sender = messages.Sender(engine_of(notifications), away, http)
        assert await sender.attempt(message_id, later) == 1
    mail = await find(notifications, message_id)
    assert mail.status == "technical-failure"
    assert mail.next_attempt_at is not None and mail.next_attempt_at > later, "not dropped"
    assert mail.attempts == 1


async def test_of_two_replicas_attempting_one_message_exactly_one_sends_it(
    notifications: httpx.AsyncClient, settings: Settings
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    message_id = f"msg-{secrets.token_hex(4)}"
    to = f"once.{secrets.token_hex(3)}@example.id"
    await put(notifications, stored_email(message_id, due=later, to=to))
    async with httpx.AsyncClient() as http:
        replicas = [messages.Sender(engine_of(notifications), settings, http) for _ in range(2)]
        attempted = await asyncio.gather(*(r.attempt(message_id, later) for r in replicas))
    assert sorted(attempted) == [0, 1]
    sent = await find(notifications, message_id)
    assert (sent.status, sent.attempts) == ("delivered", 1)
    assert len(await mailbox(to)) == 1


async def test_two_replicas_sending_at_once_send_each_due_message_once(
    postgres: Databases, namespace: str
) -> None:
    async with own_database(postgres, namespace, "replicas") as (settings, engine):
        now = dt.datetime.now(dt.UTC)
        due = [
            stored_email(f"msg-{secrets.token_hex(4)}", due=now, to=f"r{n}@example.id")
            for n in range(6)
        ]
        async with db.transaction(engine) as connection:
            for message in due:
                await store.insert_message(connection, message)
        async with httpx.AsyncClient() as http:
            replicas = [messages.Sender(engine, settings, http) for _ in range(2)]
            attempted = await asyncio.gather(*(r.deliver_due(now) for r in replicas))
        assert sum(attempted) == len(due)
        async with engine.connect() as connection:
            for message in due:
                sent = await store.find_message(connection, message.id)
                assert sent is not None
                assert (sent.status, sent.attempts) == ("delivered", 1)
                assert len(await store.history(connection, message.id)) == 1


async def test_a_message_whose_sender_died_mid_attempt_is_sent_again_once_its_lease_ends(
    postgres: Databases, namespace: str
) -> None:
    async with own_database(postgres, namespace, "lease") as (settings, engine):
        now = dt.datetime.now(dt.UTC)
        message = stored_email(f"msg-{secrets.token_hex(4)}", due=now, to="lease@example.id")
        async with db.transaction(engine) as connection:
            await store.insert_message(connection, message)
            # A replica claims it, then dies before it sends or settles anything.
            [claimed] = await store.claim_due(
                connection, now=now, lease_until=now + messages.SENDING_LEASE, limit=10
            )
        assert claimed.status == "sending"
        async with httpx.AsyncClient() as http:
            sender = messages.Sender(engine, settings, http)
            assert await sender.deliver_due(now + messages.SENDING_LEASE / 2) == 0, "still held"
            later = now + messages.SENDING_LEASE + dt.timedelta(seconds=1)
            assert await sender.deliver_due(later) == 1
        async with engine.connect() as connection:
            sent = await store.find_message(connection, message.id)
            assert sent is not None and (sent.status, sent.attempts) == ("delivered", 2)
            assert [h.status for h in await store.history(connection, message.id)] == ["delivered"]


async def test_a_hung_mail_relay_holds_up_the_emails_not_a_one_time_code_by_sms(
    postgres: Databases, namespace: str, infobip: tuple[FakeInfobip, str]
) -> None:
    """Each provider is a queue of its own: the code goes out while the relay says nothing."""
    hung = asyncio.Event()

    async def relay_saying_nothing(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hung.wait()
        writer.close()

    relay = await asyncio.start_server(relay_saying_nothing, "127.0.0.1", 0)
    fake, base_url = infobip
    overrides: dict[str, Any] = {
        "smtp_port": relay.sockets[0].getsockname()[1],
        "sms_provider": "infobip",
        "infobip_base_url": base_url,
        "infobip_api_key": "test-key",
    }
    async with relay, own_database(postgres, namespace, "relay", **overrides) as (settings, engine):
        now = dt.datetime.now(dt.UTC)
        mail = stored_email(f"msg-{secrets.token_hex(4)}", due=now)
        code = stored_email(f"msg-{secrets.token_hex(4)}", due=now).model_copy(
            update={"channel": "sms", "to": "+6281234567890", "event_type": messages.OTP}
        )
        async with db.transaction(engine) as connection:
            for message in (mail, code):  # the e-mail first: the older is claimed first
                await store.insert_message(connection, message)
        async with httpx.AsyncClient() as http:
            sending = asyncio.create_task(messages.Sender(engine, settings, http).deliver_due())
            try:
                await eventually(lambda: fake.requests, timeout=5, interval=0.02)
            finally:
                hung.set()
            assert await sending == 2
        async with engine.connect() as connection:
            sent = await store.find_message(connection, code.id)
            failed = await store.find_message(connection, mail.id)
        assert sent is not None and sent.status == "sending", "with Infobip, awaiting its receipt"
        assert failed is not None and failed.status == "technical-failure", "to be retried"


async def test_a_late_outcome_of_an_attempt_never_overwrites_the_receipt_that_came_first(
    postgres: Databases, namespace: str
) -> None:
    async with own_database(postgres, namespace, "forward") as (settings, engine):
        now = dt.datetime.now(dt.UTC)
        message = stored_email(f"msg-{secrets.token_hex(4)}", due=now, to="fast@example.id")
        async with db.transaction(engine) as connection:
            await store.insert_message(connection, message)
            [claimed] = await store.claim_due(
                connection, now=now, lease_until=now + messages.SENDING_LEASE, limit=10
            )
        async with httpx.AsyncClient() as http:
            sender = messages.Sender(engine, settings, http)
            # The provider's receipt arrives before the attempt has written its own outcome.
            assert await sender.receipt(message.id, "delivered", "DELIVERED_TO_HANDSET")
            async with db.transaction(engine) as connection:
                late = await messages.settle(
                    connection,
                    settings,
                    claimed,
                    Outcome("sending", detail="accepted by the provider"),
                    now=now,
                    claimed=True,
                )
            assert late is False
            assert await sender.receipt(message.id, "permanent-failure", "a stale report")
        async with engine.connect() as connection:
            kept = await store.find_message(connection, message.id)
            assert kept is not None and (kept.status, kept.next_attempt_at) == ("delivered", None)
            history = [h.status for h in await store.history(connection, message.id)]
        assert history == ["delivered"], "one outcome recorded, the receipt's"


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
    channels = sorted(m.channel for m in await messages_of(notifications, happened.id))
    assert channels == ["inbox", "sms"]
    bad = await notifications.put(
        "/api/v1/notifications/preferences", json={"channels": {"pigeon": True}}, headers=headers
    )
    assert bad.status_code == 422


def sla_breach(agency: str, application_id: str, *, number: int) -> SlaBreached:
    """The whole application's deadline missed, at an agency."""
    return SlaBreached(
        application_id=application_id,
        tracking_number=f"SNJ-{agency}-20261127-{number:06d}",
        service_id="svc",
        service_version=1,
        agency=agency,
        citizen_id="c",
        state="in_review",
        clock="overall",
        breached_due_at=dt.datetime(2026, 11, 27, 15, 59, 59, tzinfo=dt.UTC),
    )


async def test_an_sla_breach_is_mailed_to_the_agencys_administrators(
    notifications: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    from mpp_shared.contracts.catalog import LocalizedText
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
    breach = sla_breach(agency, "app-late", number=9)
    await feed(
        event("applications.application.sla_breached.v1", "app-late", breach, "applications")
    )
    [mail] = await eventually(lambda: mailbox(admin.email or ""), timeout=20)
    assert breach.tracking_number in mail["Subject"]
    assert "melewati tenggat" in mail["Text"] and "Kepala Dinas" in mail["Text"]
    assert await mailbox(away.email or "") == [], "switched-off accounts are not told"

    # A step's deadline: the step is named as its workflow names it, not by its code.
    step = breach.model_copy(
        update={
            "application_id": "app-slow-step",
            "tracking_number": f"SNJ-{agency}-20261127-000010",
            "state": "submitted",
            "clock": "state",
            "state_label": LocalizedText(id="Diajukan", en="Submitted"),
        }
    )
    await feed(
        event("applications.application.sla_breached.v1", "app-slow-step", step, "applications")
    )
    mails = await eventually(lambda: _count(mailbox(admin.email or ""), at_least=2), timeout=20)
    [told] = [m for m in mails if step.tracking_number in m["Subject"]]
    assert "tahap 'Diajukan'" in " ".join(told["Text"].split())
    assert "submitted" not in told["Text"]


async def test_a_breach_with_nobody_to_tell_is_counted_for_the_command_center(
    notifications: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    agency = f"SEPI{secrets.token_hex(2).upper()}"  # no administrator with an e-mail address
    breach = sla_breach(agency, "app-unheard", number=11)
    happened = event(
        "applications.application.sla_breached.v1", "app-unheard", breach, "applications"
    )
    await feed(happened)

    [failed] = await eventually(lambda: messages_of(notifications, happened.id), timeout=20)
    assert (failed.channel, failed.to, failed.status) == ("email", "", "permanent-failure")
    assert failed.next_attempt_at is None and "no active agency administrator" in (
        failed.last_detail or ""
    )
    now = dt.datetime.now(dt.UTC)
    async with engine_of(notifications).connect() as connection:
        today, _ = await store.unaddressed_counts(
            connection, midnight=now - dt.timedelta(minutes=5), day_ago=now - dt.timedelta(days=1)
        )
    assert today >= 1


async def _count(found: Any, *, at_least: int) -> list[Any] | None:
    """What `found` (awaitable) gives, once it holds `at_least` items."""
    items = await found
    return items if len(items) >= at_least else None


async def test_the_inbox_pages_newest_first_and_reaches_every_message(
    notifications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    person = citizen()
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    sent = [submitted(person.citizen_id) for _ in range(5)]
    for application in sent:
        await feed(
            event(
                "applications.application.submitted.v1",
                application.application_id,
                application,
                "applications",
            )
        )
    headers = tokens.headers("citizen", subject=person.citizen_id)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await notifications.get("/api/v1/notifications", params=params, headers=headers)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert len({item["id"] for item in seen}) == 5
    tracking = [a.tracking_number for a in reversed(sent)]
    assert [next(t for t in tracking if t in item["text"]) for item in seen] == tracking
    garbled = await notifications.get(
        "/api/v1/notifications", params={"cursor": "not-a-cursor"}, headers=headers
    )
    assert garbled.status_code == 400
