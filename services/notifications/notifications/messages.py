"""Every message the mall sends: planned once per (event, channel, recipient) however often the
event arrives, sent through its channel, retried with exponential backoff while the failure is
temporary or ours, finished by the provider's receipt where it sends one, and announced as
`notifications.notification.delivered.v1` or `.failed.v1`.

A message moves through created -> sending -> delivered, or temporary-failure (retried, then
final), permanent-failure, technical-failure (our side: retried, then final, never silently lost).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency, outbox, topics
from mpp_shared.contracts.notifications import NotificationDelivered, NotificationFailed
from mpp_shared.events import Event, from_json, new_event
from notifications import contacts, providers
from notifications.providers import (
    DELIVERED,
    PERMANENT,
    SENDING,
    TECHNICAL,
    TEMPORARY,
    Outcome,
    Outgoing,
)
from notifications.settings import Settings
from notifications.templates import service as templates

log = logging.getLogger(__name__)
Db = AsyncDatabase[dict[str, Any]]
MESSAGES = "messages"
PUSH = "push_subscriptions"
NAMES = "names"
# Events about a citizen whose contact has not been read yet (identity's topic is read beside
# the others, so a registration can come after the first application's event).
WAITING = "waiting_for_contact"
WAIT_AT_MOST = dt.timedelta(days=1)
INDEXES = {
    MESSAGES: [
        IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)]),
        IndexModel([("citizen_id", ASCENDING), ("channel", ASCENDING), ("_id", ASCENDING)]),
    ]
}
SOURCE = topics.source_of("notifications")
CHANNELS = ("inbox", "email", "sms", "whatsapp", "push")
OTP = "identity.otp.requested.v1"
# Secrets are sent now, whatever the hour, and their text is not kept after sending.
URGENT = frozenset({OTP, "documents.output.pin_issued.v1"})
RETRYABLE = frozenset({TEMPORARY, TECHNICAL})
SENDING_LEASE = dt.timedelta(minutes=2)
# Events for the agency's staff rather than the citizen.
STAFF_EVENTS = frozenset({"applications.application.sla_breached.v1"})
# The mall's local time, for quiet hours.
ZONE = ZoneInfo("Asia/Makassar")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- planning -------------------------------------------------------------------------------------


async def plan(db: Db, settings: Settings, event: Event) -> int:
    """Create the messages an event calls for; returns how many are new."""
    data = event.data
    expires = data.get("expires_at")
    if expires and dt.datetime.fromisoformat(str(expires)) <= _now():
        return 0  # a code that has expired is worth nothing (e.g. replayed from the DLQ)
    if event.type in STAFF_EVENTS:
        return await _plan_for_staff(db, settings, event)
    citizen_id = data.get("citizen_id")
    found = await contacts.contact(db, citizen_id) if citizen_id else None
    if found is None and event.type != OTP:
        if citizen_id and event.type not in URGENT:  # a secret is not kept, and soon worthless
            await db[WAITING].replace_one(
                {"_id": event.id},
                {"citizen_id": citizen_id, "event": event.to_json().decode(), "since": _now()},
                upsert=True,
            )
        return 0  # nobody to tell yet (a catalog event, an unknown citizen): no look-ups
    chosen = contacts.preferences(found)
    language = (found or {}).get("language") or data.get("language") or "id"
    context = await _context(db, settings, event, found, language)
    now = _now()
    created = 0
    for channel in CHANNELS:
        address = await _address(db, event, channel, found, chosen, citizen_id)
        if address is None:
            continue
        rendered = await templates.render(
            db, event_type=event.type, channel=channel, language=language, context=context
        )
        if rendered is None:
            continue
        for to in address:
            created += await _create(
                db,
                event=event,
                channel=channel,
                to=to,
                citizen_id=citizen_id,
                subject=rendered.subject,
                text=rendered.text,
                due=_due(event, channel, chosen, now),
            )
    return created


async def plan_waiting(db: Db, settings: Settings, citizen_id: str) -> int:
    """Plan the events that waited for this citizen's contact; forget those kept too long."""
    created = 0
    for waiting in await db[WAITING].find({"citizen_id": citizen_id}).to_list(None):
        created += await plan(db, settings, from_json(waiting["event"]))
        await db[WAITING].delete_one({"_id": waiting["_id"]})
    await db[WAITING].delete_many({"since": {"$lt": _now() - WAIT_AT_MOST}})
    return created


async def _plan_for_staff(db: Db, settings: Settings, event: Event) -> int:
    """E-mail the agency's administrators about what needs them (an SLA breach)."""
    created = 0
    for admin in await contacts.agency_admins(db, str(event.data.get("agency"))):
        context = await _context(db, settings, event, admin, "id")
        rendered = await templates.render(
            db, event_type=event.type, channel="email", language="id", context=context
        )
        if rendered is None:
            continue
        created += await _create(
            db,
            event=event,
            channel="email",
            to=admin["email"],
            citizen_id=None,
            subject=rendered.subject,
            text=rendered.text,
            due=_now(),
        )
    return created


async def _address(
    db: Db,
    event: Event,
    channel: str,
    found: dict[str, Any] | None,
    chosen: contacts.Preferences,
    citizen_id: str | None,
) -> list[str] | None:
    """Where this channel reaches the recipient, if it does and they want it."""
    if event.type == OTP:
        # The code verifies the phone itself: it goes there, verified or not, by SMS only.
        return [str(event.data["phone"])] if channel == "sms" else None
    if found is None or not chosen.wants(channel):
        return None
    if channel == "inbox":
        return [str(citizen_id)]
    if channel == "email":
        return [found["email"]] if found.get("email") else None
    if channel in ("sms", "whatsapp"):
        return [found["phone"]] if found.get("phone") and found.get("phone_verified") else None
    subscriptions = [s async for s in db[PUSH].find({"citizen_id": citizen_id})]
    return [s["subscription"] for s in subscriptions] or None


def _due(event: Event, channel: str, chosen: contacts.Preferences, now: dt.datetime) -> dt.datetime:
    if event.type in URGENT or channel in ("inbox", "email"):
        return now
    return contacts.quiet_until(chosen, now, ZONE) or now


async def _context(
    db: Db, settings: Settings, event: Event, found: dict[str, Any] | None, language: str
) -> dict[str, Any]:
    """What templates may use: recipient, the event's fields, names, links."""
    data = event.data
    service = await db[NAMES].find_one({"_id": f"service:{data.get('service_id')}"})
    agency = await db[NAMES].find_one({"_id": f"agency:{data.get('agency')}"})
    base = settings.public_base_url.rstrip("/")
    tracking = data.get("tracking_number")
    return {
        "recipient": {"name": (found or {}).get("name", ""), "language": language},
        "event": data,
        "service": {"name": (service or {}).get(language, (service or {}).get("id", ""))},
        "agency": {"name": (agency or {}).get(language, (agency or {}).get("id", ""))},
        "links": {
            "app": base + "/",
            "track": f"{base}/track/{tracking}" if tracking else "",
            "verify": data.get("verify_url") or "",
        },
        "mall": {"name": settings.mall_name},
    }


async def _create(
    db: Db,
    *,
    event: Event,
    channel: str,
    to: str,
    citizen_id: str | None,
    subject: str | None,
    text: str,
    due: dt.datetime,
) -> int:
    """One message per (event, channel, recipient): a second delivery of the event finds it."""
    message_id = idempotency.derived_id(event.id, f"{channel}:{to}")
    now = _now()
    inbox = channel == "inbox"
    document: dict[str, Any] = {
        "_id": message_id,
        "event_id": event.id,
        "event_type": event.type,
        "channel": channel,
        "to": to,
        "citizen_id": citizen_id,
        "subject": subject,
        "text": text,
        "status": DELIVERED if inbox else "created",
        "attempts": 0,
        "next_attempt_at": None if inbox else due,
        "created_at": now,
        "updated_at": now,
        "read_at": None,
        "reference": None,
        "history": [],
    }
    return int(await idempotency.insert_once(db[MESSAGES], outbox.new_document(document, [])))


# --- sending ------------------------------------------------------------------------------------


class Sender:
    """Sends due messages through their providers, within each provider's rate."""

    def __init__(self, db: Db, settings: Settings, http: httpx.AsyncClient) -> None:
        self.db = db
        self.settings = settings
        self.http = http
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.rate = parse(settings.provider_rate)

    def provider_of(self, channel: str) -> str:
        """The provider a channel uses now."""
        if channel == "sms":
            return self.settings.sms_provider
        if channel == "whatsapp":
            return self.settings.whatsapp_provider
        return channel

    async def deliver_due(self, now: dt.datetime | None = None) -> int:
        """Send every message due by `now`; returns how many were attempted."""
        now = now or _now()
        due = (
            self.db[MESSAGES]
            .find(
                {
                    "status": {"$in": ["created", TEMPORARY, TECHNICAL]},
                    "next_attempt_at": {"$lte": now},
                },
                {"_id": 1},
            )
            .limit(200)
        )
        attempted = 0
        for item in [d async for d in due]:
            attempted += await self.attempt(item["_id"], now)
        return attempted

    async def attempt(self, message_id: str, now: dt.datetime) -> int:
        """Claim one due message (no other replica sends it meanwhile) and send it."""
        message = await self.db[MESSAGES].find_one_and_update(
            {
                "_id": message_id,
                "status": {"$in": ["created", TEMPORARY, TECHNICAL]},
                "next_attempt_at": {"$lte": now},
            },
            {
                "$set": {"status": SENDING, "next_attempt_at": now + SENDING_LEASE},
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        if message is None:
            return 0
        provider = self.provider_of(message["channel"])
        if not await self.limiter.hit(self.rate, provider):
            await self._set(
                message,
                {"status": "created", "next_attempt_at": now, "attempts": message["attempts"] - 1},
            )
            return 0
        outcome = await self._send(message)
        await self.settle(message, outcome, now=now)
        return 1

    async def _send(self, message: dict[str, Any]) -> Outcome:
        outgoing = Outgoing(
            id=message["_id"],
            channel=message["channel"],
            to=message["to"],
            subject=message.get("subject"),
            text=message["text"],
        )
        try:
            if message["channel"] == "email":
                return await providers.send_email(self.settings, outgoing)
            if message["channel"] == "push":
                return await providers.send_push(self.settings, outgoing)
            if self.provider_of(message["channel"]) == "infobip":
                return await providers.send_infobip(self.http, self.settings, outgoing)
            return await providers.send_sandbox(self.db, self.settings, outgoing)
        except Exception as exc:  # a provider bug must not stop every other message
            log.exception("sending %s", message["_id"])
            return Outcome(TECHNICAL, detail=f"{type(exc).__name__}: {exc}")

    async def settle(
        self, message: dict[str, Any], outcome: Outcome, *, now: dt.datetime, final: bool = False
    ) -> None:
        """Record what became of a message: retry, wait for a receipt, or finish it (a final
        status has no next attempt)."""
        fields: dict[str, Any] = {"updated_at": now, "last_detail": outcome.detail}
        if outcome.reference:
            fields["reference"] = outcome.reference
        events: list[Event] = []
        retry = message["attempts"] < self.settings.retry_max_attempts
        if outcome.status in RETRYABLE and retry and not final:
            delay = self.settings.retry_initial_seconds * 2 ** (message["attempts"] - 1)
            fields |= {
                "status": outcome.status,
                "next_attempt_at": now + dt.timedelta(seconds=delay * random.uniform(1.0, 1.25)),  # noqa: S311
            }
        elif outcome.status == SENDING:
            fields |= {"status": SENDING, "next_attempt_at": None}  # the receipt will tell
        else:
            fields |= {"status": outcome.status, "next_attempt_at": None}
            events.append(_finished(message, outcome))
            if message["event_type"] in URGENT:
                fields["text"] = "[dihapus setelah dikirim]"  # a code or PIN is not kept
        history = {"at": now, "status": outcome.status, "detail": outcome.detail}
        await self.db[MESSAGES].update_one(
            {"_id": message["_id"]},
            outbox.change(fields, events, extra={"$push": {"history": history}}),
        )

    async def _set(self, message: dict[str, Any], fields: dict[str, Any]) -> None:
        await self.db[MESSAGES].update_one({"_id": message["_id"]}, {"$set": fields})

    async def receipt(self, message_id: str, status: str, detail: str) -> bool:
        """A provider's delivery receipt for a message it accepted; False if unknown."""
        message = await self.db[MESSAGES].find_one({"_id": message_id})
        if message is None:
            return False
        if message["status"] in (DELIVERED, PERMANENT):
            return True  # receipts repeat; the first one counted
        # The provider gave up (e.g. the phone stayed off until the message expired): final.
        await self.settle(
            message, Outcome(status, detail=f"receipt: {detail}"), now=_now(), final=True
        )
        return True


def _finished(message: dict[str, Any], outcome: Outcome) -> Event:
    facts = {
        "notification_id": message["_id"],
        "event_id": message["event_id"],
        "event_type": message["event_type"],
        "channel": message["channel"],
        "citizen_id": message.get("citizen_id"),
        "status": outcome.status,
        "attempts": message["attempts"],
    }
    if outcome.status == DELIVERED:
        return new_event(
            type="notifications.notification.delivered.v1",
            source=SOURCE,
            subject=message["_id"],
            data=NotificationDelivered(**facts),
        )
    return new_event(
        type="notifications.notification.failed.v1",
        source=SOURCE,
        subject=message["_id"],
        data=NotificationFailed(**facts, reason=outcome.detail[:300]),
    )
