"""Every message the mall sends: planned once per (event, channel, recipient) however often the
event arrives, sent through its channel, retried with exponential backoff while the failure is
temporary or ours, finished by the provider's receipt where it sends one, and announced as
`notifications.notification.delivered.v1` or `.failed.v1`.

A message moves through created -> sending -> delivered, or temporary-failure (retried, then
final), permanent-failure, technical-failure (our side: retried, then final, never silently lost).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from mpp_shared import db, idempotency, outbox, topics
from mpp_shared.contracts import type_of
from mpp_shared.contracts.applications import ComplaintForwarded, ComplaintReplied, SlaBreached
from mpp_shared.contracts.catalog import LocalizedText
from mpp_shared.contracts.documents import OutputPinIssued
from mpp_shared.contracts.identity import OtpRequested
from mpp_shared.contracts.notifications import NotificationDelivered, NotificationFailed
from mpp_shared.events import Event, new_event
from notifications import providers, store
from notifications.contacts import service as contacts
from notifications.contacts import store as contacts_store
from notifications.models import (
    CREATED,
    DELIVERED,
    PERMANENT,
    SENDING,
    TECHNICAL,
    TEMPORARY,
    Contact,
    HistoryEntry,
    Message,
    Preferences,
)
from notifications.providers import Outcome, Outgoing
from notifications.settings import Settings
from notifications.templates import placeholders
from notifications.templates import service as templates

log = logging.getLogger(__name__)
# Events about a citizen whose contact has not been read yet wait for it (identity's topic is read
# beside the others, so a registration can come after the first application's event).
WAIT_AT_MOST = dt.timedelta(days=1)
SOURCE = topics.source_of("notifications")
CHANNELS = ("inbox", "email", "sms", "whatsapp", "push")
SENT_CHANNELS = ("email", "sms", "whatsapp", "push")  # the inbox is delivered as it is planned
OTP = type_of(OtpRequested)
# Secrets are sent now, whatever the hour, and their text is not kept after sending.
URGENT = frozenset({OTP, type_of(OutputPinIssued)})
RETRYABLE = frozenset({TEMPORARY, TECHNICAL})
SENDING_LEASE = dt.timedelta(minutes=2)
# Messages being sent at once through one provider.
SENDS_PER_PROVIDER = 8
# Events the agency's administrators are e-mailed about (the event type's e-mail template is
# theirs): a missed deadline, and a complaint that is now theirs to answer.
STAFF_EVENTS = frozenset(
    {type_of(SlaBreached), type_of(ComplaintForwarded), type_of(ComplaintReplied)}
)
# ...and of those, the steps the citizen hears of too, on the channels other than e-mail.
CITIZEN_TOO = frozenset({type_of(ComplaintForwarded)})
# The mall's local time, for quiet hours.
ZONE = ZoneInfo("Asia/Makassar")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- planning -------------------------------------------------------------------------------------


async def plan(connection: AsyncConnection, settings: Settings, event: Event) -> int:
    """Create the messages an event calls for; returns how many are new."""
    data = event.data
    expires = data.get("expires_at")
    if expires and dt.datetime.fromisoformat(str(expires)) <= _now():
        return 0  # a code that has expired is worth nothing (e.g. replayed from the DLQ)
    staff = 0
    if event.type in STAFF_EVENTS:
        staff = await _plan_for_staff(connection, settings, event)
        if event.type not in CITIZEN_TOO:
            return staff
    return staff + await _plan_for_citizen(connection, settings, event)


async def _plan_for_citizen(connection: AsyncConnection, settings: Settings, event: Event) -> int:
    """Create the messages to the citizen (or phone) an event names; returns how many are new."""
    data = event.data
    citizen_id = data.get("citizen_id")
    # Contact, choices and push subscriptions in one query rather than three: each query costs
    # about as much CPU to build, send and read, whatever it reads.
    recipient = await contacts_store.find_recipient(connection, citizen_id) if citizen_id else None
    if recipient is None and event.type != OTP:
        if citizen_id and event.type not in URGENT:  # a secret is not kept, and soon worthless
            await contacts_store.keep_waiting(
                connection, event, citizen_id=citizen_id, since=_now()
            )
        return 0  # nobody to tell yet (a catalog event, an unknown citizen): no look-ups
    found = recipient.contact if recipient else None
    # Without a contact only a one-time code goes out, by SMS and at once: choices do not apply.
    chosen = recipient.preferences if recipient else Preferences()
    push = recipient.push if recipient else []
    language = (found.language if found else None) or data.get("language") or "id"
    context = await _context(connection, settings, event, found.name if found else "", language)
    sources = await templates.sources(connection, event.type)
    now = _now()
    planned = []
    for channel in CHANNELS:
        if channel == "email" and event.type in STAFF_EVENTS:
            continue  # that template speaks to the agency's administrators
        address = _address(event, channel, found, chosen, citizen_id, push)
        if address is None:
            continue
        rendered = templates.render_from(
            sources, event_type=event.type, channel=channel, language=language, context=context
        )
        if rendered is None:
            continue
        planned += [
            _message(
                event=event,
                channel=channel,
                to=to,
                citizen_id=citizen_id,
                subject=rendered.subject,
                text=rendered.text,
                due=_due(event, channel, chosen, now),
            )
            for to in address
        ]
    return await store.insert_messages(connection, planned)


async def plan_waiting(connection: AsyncConnection, settings: Settings, citizen_id: str) -> int:
    """Plan the events that waited for this citizen's contact; forget those kept too long."""
    created = 0
    for waiting in await contacts_store.take_waiting(connection, citizen_id):
        created += await plan(connection, settings, waiting)
    await contacts_store.forget_waiting(connection, before=_now() - WAIT_AT_MOST)
    return created


async def _plan_for_staff(connection: AsyncConnection, settings: Settings, event: Event) -> int:
    """E-mail the agency's administrators about what needs them (an SLA breach, a complaint to
    answer). An agency with no active administrator with an e-mail address gets an e-mail failed
    for want of one: the command center counts it (`figures`), so an alert that reached nobody
    does not pass unseen."""
    planned = []
    sources = await templates.sources(connection, event.type)
    agency = str(event.data.get("agency"))
    admins = await contacts_store.agency_admins(connection, agency)
    if not admins:
        log.warning("%s of %s: agency %s has nobody to tell", event.type, event.subject, agency)
        return await store.insert_messages(connection, [_unaddressed(event, agency)])
    for admin in admins:
        context = await _context(connection, settings, event, admin.name, "id")
        rendered = templates.render_from(
            sources, event_type=event.type, channel="email", language="id", context=context
        )
        if rendered is None:
            continue
        planned.append(
            _message(
                event=event,
                channel="email",
                to=admin.email,
                citizen_id=None,
                subject=rendered.subject,
                text=rendered.text,
                due=_now(),
            )
        )
    return await store.insert_messages(connection, planned)


UNADDRESSED = ""  # the recipient of a staff alert that had nobody to go to


def _unaddressed(event: Event, agency: str) -> Message:
    """A staff alert's e-mail that had nowhere to go, failed for good as it is made."""
    reference = event.data.get("tracking_number") or event.data.get("tracking_id") or event.subject
    made = _message(
        event=event,
        channel="email",
        to=UNADDRESSED,
        citizen_id=None,
        subject=f"Tidak terkirim: {reference}",
        text=f"Tidak ada administrator {agency} yang aktif dengan alamat e-mail.",
        due=_now(),
    )
    return made.model_copy(
        update={
            "status": PERMANENT,
            "next_attempt_at": None,
            "last_detail": "no active agency administrator with an e-mail address",
        }
    )


def _address(
    event: Event,
    channel: str,
    found: Contact | None,
    chosen: Preferences,
    citizen_id: str | None,
    push: list[str],
) -> list[str] | None:
    """Where this channel reaches the recipient, if it does and they want it."""
    if event.type == OTP:
        # The code verifies the phone itself: it goes there, verified or not, by SMS only.
        return [str(event.data["phone"])] if channel == "sms" else None
    if found is None or citizen_id is None or not chosen.wants(channel):
        return None
    if channel == "inbox":
        return [citizen_id]
    if channel == "email":
        return [found.email] if found.email else None
    if channel in ("sms", "whatsapp"):
        return [found.phone] if found.phone and found.phone_verified else None
    return push or None


def _due(event: Event, channel: str, chosen: Preferences, now: dt.datetime) -> dt.datetime:
    if event.type in URGENT or channel in ("inbox", "email"):
        return now
    return contacts.quiet_until(chosen, now, ZONE) or now


async def _context(
    connection: AsyncConnection, settings: Settings, event: Event, name: str, language: str
) -> dict[str, Any]:
    """What templates may use: recipient, the event's fields, names, links."""
    data = event.data
    known = await store.find_names(
        connection, service=str(data.get("service_id")), agency=str(data.get("agency"))
    )
    base = settings.public_base_url.rstrip("/")
    return {
        "recipient": {"name": name, "language": language},
        "event": data,
        "service": {"name": _in(known.get("service"), language)},
        "agency": {"name": _in(known.get("agency"), language)},
        "links": placeholders.links(base, data),
        "mall": {"name": settings.mall_name},
    }


def _in(name: LocalizedText | None, language: str) -> str:
    """A localised name in a language (Indonesian for any other), or nothing."""
    if name is None:
        return ""
    return name.en if language == "en" else name.id


def _message(
    *,
    event: Event,
    channel: str,
    to: str,
    citizen_id: str | None,
    subject: str | None,
    text: str,
    due: dt.datetime,
) -> Message:
    """One message per (event, channel, recipient): its id is derived from them, so a second
    delivery of the event finds it stored."""
    now = _now()
    inbox = channel == "inbox"
    return Message(
        id=idempotency.derived_id(event.id, f"{channel}:{to}"),
        event_id=event.id,
        event_type=event.type,
        channel=channel,
        to=to,
        citizen_id=citizen_id,
        subject=subject,
        text=text,
        status=DELIVERED if inbox else CREATED,
        attempts=0,
        next_attempt_at=None if inbox else due,
        created_at=now,
        updated_at=now,
    )


# --- sending ------------------------------------------------------------------------------------


class Sender:
    """Sends due messages through their providers, within each provider's rate."""

    def __init__(self, engine: AsyncEngine, settings: Settings, http: httpx.AsyncClient) -> None:
        self.engine = engine
        self.settings = settings
        self.http = http
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.rate = parse(settings.provider_rate)
        self.mailer = providers.Mailer(settings)
        self.queues: dict[str, list[str]] = {}  # the channels each provider sends
        for channel in SENT_CHANNELS:
            self.queues.setdefault(self.provider_of(channel), []).append(channel)
        self.sending: Counter[str] = Counter()  # messages being sent, by provider

    async def close(self) -> None:
        """Close the SMTP connections kept between messages."""
        await self.mailer.close()

    def provider_of(self, channel: str) -> str:
        """The provider a channel uses now."""
        if channel == "sms":
            return self.settings.sms_provider
        if channel == "whatsapp":
            return self.settings.whatsapp_provider
        return channel

    async def start_due(
        self, group: asyncio.TaskGroup, *, now: dt.datetime | None = None
    ) -> list[asyncio.Task[int]]:
        """Claim due messages for each provider's free slots, within its rate, and start sending
        them in `group`; each task says whether its message was attempted.

        Each provider is a queue of its own: a slow SMTP relay holds the e-mails, not the SMS with
        a one-time code. A message is claimed as its attempt starts, skipping those another
        replica holds, so two replicas never send the same attempt; one that dies mid-attempt
        leaves it due again when its lease ends. `now` fixes the clock (tests travel in time
        with it); without it each attempt reads the wall clock as it starts and as it ends.
        """
        started = []
        for provider, channels in self.queues.items():
            free = min(SENDS_PER_PROVIDER - self.sending[provider], await self._rate_left(provider))
            if free <= 0:
                continue
            at = now or _now()
            async with db.transaction(self.engine) as connection:
                claimed = await store.claim_due(
                    connection,
                    now=at,
                    lease_until=at + SENDING_LEASE,
                    limit=free,
                    channels=channels,
                )
            self.sending[provider] += len(claimed)
            started += [group.create_task(self._attempt_in(provider, m, now)) for m in claimed]
        return started

    async def deliver_due(self, now: dt.datetime | None = None) -> int:
        """Send the messages due by `now` that the providers' free slots take (see `start_due`)
        and wait for them; returns how many were attempted."""
        async with asyncio.TaskGroup() as group:
            started = await self.start_due(group, now=now)
        return sum(task.result() for task in started)

    async def attempt(self, message_id: str, now: dt.datetime) -> int:
        """Claim one due message (no other replica sends it meanwhile) and send it."""
        async with db.transaction(self.engine) as connection:
            message = await store.claim(
                connection, message_id, now=now, lease_until=now + SENDING_LEASE
            )
        if message is None:
            return 0
        return await self._attempt(message, now)

    async def _rate_left(self, provider: str) -> int:
        """How many more messages the provider takes now within its rate."""
        return (await self.limiter.get_window_stats(self.rate, provider)).remaining

    async def _attempt_in(self, provider: str, message: Message, now: dt.datetime | None) -> int:
        """Attempt a message in one of its provider's slots, given back when it is done."""
        try:
            return await self._attempt(message, now)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            # Not settled: the message is due again when its lease ends; the others go on.
            log.warning("sending %s: %s", message.id, exc)
            return 0
        finally:
            self.sending[provider] -= 1

    async def _attempt(self, message: Message, now: dt.datetime | None) -> int:
        if not await self.limiter.hit(self.rate, self.provider_of(message.channel)):
            async with db.transaction(self.engine) as connection:
                await store.release(connection, message, now=now or _now())
            return 0
        outcome = await self._send(message)
        # The attempt's end: a retry is backed off from here, however long the provider took.
        ended = now or _now()
        # What the provider did is recorded even if the database is away for a while: were it
        # not, the message would be sent again once its lease ended. Past the lease another
        # replica may have sent it again, and `claimed` refuses the late record.
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(db.is_unreachable),
            stop=stop_after_delay(SENDING_LEASE.total_seconds()),
            wait=wait_exponential(multiplier=0.5, max=5.0),
            reraise=True,
        ):
            with attempt:
                async with db.transaction(self.engine) as connection:
                    await settle(
                        connection, self.settings, message, outcome, now=ended, claimed=True
                    )
        return 1

    async def _send(self, message: Message) -> Outcome:
        outgoing = Outgoing(
            id=message.id,
            channel=message.channel,
            to=message.to,
            subject=message.subject,
            text=message.text,
        )
        try:
            if message.channel == "email":
                return await providers.send_email(self.mailer, self.settings, outgoing)
            if message.channel == "push":
                return await providers.send_push(self.settings, outgoing)
            if self.provider_of(message.channel) == "infobip":
                return await providers.send_infobip(self.http, self.settings, outgoing)
            return await providers.send_sandbox(self.engine, self.mailer, self.settings, outgoing)
        except Exception as exc:  # a provider bug must not stop every other message
            log.exception("sending %s", message.id)
            return Outcome(TECHNICAL, detail=f"{type(exc).__name__}: {exc}")

    async def receipt(self, message_id: str, status: str, detail: str) -> bool:
        """A provider's delivery receipt for a message it accepted; False if unknown."""
        async with db.transaction(self.engine) as connection:
            message = await store.find_message(connection, message_id, lock=True)
            if message is None:
                return False
            if message.status in (DELIVERED, PERMANENT):
                return True  # receipts repeat; the first one counted
            # The provider gave up (e.g. the phone stayed off until the message expired): final.
            await settle(
                connection,
                self.settings,
                message,
                Outcome(status, detail=f"receipt: {detail}"),
                now=_now(),
                final=True,
            )
        return True


async def settle(
    connection: AsyncConnection,
    settings: Settings,
    message: Message,
    outcome: Outcome,
    *,
    now: dt.datetime,
    claimed: bool = False,
    final: bool = False,
) -> bool:
    """Record what became of a message: retry, wait for a receipt, or finish it (a final status
    has no next attempt) and announce it. With `claimed`, only while this attempt still holds
    the message: a receipt that came first has finished it. True when recorded."""
    changes: dict[str, Any] = {"updated_at": now, "last_detail": outcome.detail}
    if outcome.reference:
        changes["reference"] = outcome.reference
    events: list[Event] = []
    retry = message.attempts < settings.retry_max_attempts
    if outcome.status in RETRYABLE and retry and not final:
        delay = settings.retry_initial_seconds * 2 ** (message.attempts - 1)
        jittered = dt.timedelta(seconds=delay * random.uniform(1.0, 1.25))  # noqa: S311
        changes |= {"status": outcome.status, "next_attempt_at": now + jittered}
    elif outcome.status == SENDING:
        changes |= {"status": SENDING, "next_attempt_at": None}  # the receipt will tell
    else:
        changes |= {"status": outcome.status, "next_attempt_at": None}
        events.append(_finished(message, outcome))
        if message.event_type in URGENT:
            changes["text"] = "[dihapus setelah dikirim]"  # a code or PIN is not kept
    entry = HistoryEntry(at=now, status=outcome.status, detail=outcome.detail)
    recorded = await store.settle(
        connection, message, entry=entry, claimed=claimed, changes=changes
    )
    if recorded:
        await outbox.record(connection, events)
    return recorded


def _finished(message: Message, outcome: Outcome) -> Event:
    facts = {
        "notification_id": message.id,
        "event_id": message.event_id,
        "event_type": message.event_type,
        "channel": message.channel,
        "citizen_id": message.citizen_id,
        "status": outcome.status,
        "attempts": message.attempts,
    }
    if outcome.status == DELIVERED:
        return new_event(NotificationDelivered(**facts), source=SOURCE, subject=message.id)
    return new_event(
        NotificationFailed(**facts, reason=outcome.detail[:300]), source=SOURCE, subject=message.id
    )
