"""Partners' webhooks: subscriptions, one delivery per event and subscription, signed attempts
with retries, and switching off a webhook that keeps failing.

Partners receive only the events of `applications.events`, `documents.events` and
`catalog.events` (never identity events or PINs), as Standard Webhooks: a JSON body
`{id, type, timestamp, subject, data}` signed with the subscription's `whsec_` secret in the
`webhook-id`, `webhook-timestamp` and `webhook-signature` headers. A partner sees and changes only
its own subscriptions (another's is a 404); MPP administrators manage all.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import random
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel
from standardwebhooks import Webhook

from mpp_shared import contracts, idempotency, pagination, topics
from mpp_shared.auth import Principal
from mpp_shared.events import Event
from mpp_shared.ids import new_id
from mpp_shared.problems import Problem
from notifications.settings import Settings
from notifications.webhooks import addresses, store
from notifications.webhooks.models import (
    CANCELLED,
    DELIVERED,
    FAILED,
    NOTICES,
    PENDING,
    SubscriptionInput,
    SubscriptionUpdate,
)

Db = store.Db
Document = store.Document

SCOPE = "subscriptions:write"
PARTNER_TOPICS = frozenset({topics.APPLICATIONS, topics.DOCUMENTS, topics.CATALOG})
TEST_TYPE = "partners.test"
USER_AGENT = "MPP-Elektronik-Webhooks/1.0"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
# After a rotation the old secret signs too for a day, so the partner can switch without a gap.
ROTATION_GRACE = timedelta(hours=24)
# Seconds before retry n (jittered ±20%): 5 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h, 24 h.
RETRY_SCHEDULE = (5, 30, 120, 600, 3_600, 10_800, 21_600, 43_200, 86_400)
DUE_BATCH = 200
CONCURRENT_ATTEMPTS = 16
SUBSCRIPTIONS_CACHE_SECONDS = 5.0

_active_cache: dict[str, tuple[float, list[Document]]] = {}


def _now() -> datetime:
    """Now, to the millisecond the store keeps: an answer shows what a later read will."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# --- what partners may receive ------------------------------------------------------------------


@functools.cache
def partner_contracts() -> dict[str, type[BaseModel]]:
    """Event types partners may receive, with their payload models."""
    return {
        event_type: model
        for event_type, (topic, model) in contracts.load_all().items()
        if topic in PARTNER_TOPICS
    }


def types_matching(pattern: str) -> list[str]:
    """The partner event types a pattern names: one type, `*`, or a prefix ending in `.*`."""
    known = partner_contracts()
    if pattern == "*":
        return sorted(known)
    if pattern.endswith(".*"):
        return sorted(t for t in known if t.startswith(pattern[:-1]))
    return [pattern] if pattern in known else []


def _validated_types(patterns: Iterable[str]) -> list[str]:
    """The patterns without repeats; a 422 naming those that match no partner event type."""
    unique = list(dict.fromkeys(patterns))
    unknown = [p for p in unique if not types_matching(p)]
    if unknown:
        names = ", ".join(unknown)
        raise _invalid(
            "event_types",
            f"Jenis peristiwa tidak dikenal atau tidak tersedia bagi mitra: {names}.",
            f"Unknown event types, or not available to partners: {names}.",
            unknown_event_types=unknown,
        )
    return unique


def _validated_fields(fields: list[str] | None, patterns: list[str]) -> list[str] | None:
    """The fields without repeats; a 422 naming those no chosen event type carries."""
    if fields is None:
        return None
    known = {
        name
        for pattern in patterns
        for event_type in types_matching(pattern)
        for name in partner_contracts()[event_type].model_fields
    }
    unique = list(dict.fromkeys(fields))
    unknown = [f for f in unique if f not in known]
    if unknown:
        names = ", ".join(unknown)
        raise _invalid(
            "fields",
            f"Isian ini tidak ada pada jenis peristiwa yang dipilih: {names}.",
            f"The chosen event types carry no such fields: {names}.",
            unknown_fields=unknown,
        )
    return unique


def _invalid(field: str, indonesian: str, english: str, **extra: Any) -> Problem:
    message = {"id": indonesian, "en": english}
    return Problem(
        422, "validation", errors=[{"field": field, "in": "body", "message": message}], **extra
    )


# --- who may do what ----------------------------------------------------------------------------


def _authorize(caller: Principal) -> None:
    """Partners whose key has the subscriptions scope, and MPP administrators."""
    if caller.role == "mpp_admin" or (caller.role == "partner" and SCOPE in caller.scopes):
        return
    raise Problem(
        403,
        "forbidden",
        detail={
            "id": "Hanya mitra dengan cakupan subscriptions:write yang dapat mengelola webhook.",
            "en": "Only partners with the subscriptions:write scope may manage webhooks.",
        },
    )


def _not_found() -> Problem:
    """Also the answer for another partner's subscription: its existence is not told."""
    return Problem(
        404,
        "not-found",
        detail={"id": "Langganan webhook tidak ditemukan.", "en": "No such webhook subscription."},
    )


async def _load(db: Db, caller: Principal, subscription_id: str) -> Document:
    _authorize(caller)
    found = await store.find_subscription(db, subscription_id)
    if found is None or (caller.role != "mpp_admin" and found["owner"] != caller.subject):
        raise _not_found()
    return found


def _agency_filter(caller: Principal, wanted: str | None) -> str | None:
    """A partner key bound to an agency receives that agency's events only (per-agency rights, as
    X-Road's per-subsystem ones); unbound keys and administrators choose freely."""
    if caller.role != "partner" or caller.agency is None:
        return wanted
    if wanted not in (None, caller.agency):
        raise Problem(
            403,
            "forbidden",
            detail={
                "id": f"Kunci API ini hanya dapat menerima peristiwa instansi {caller.agency}.",
                "en": f"This API key may only receive events of the agency {caller.agency}.",
            },
        )
    return caller.agency


# --- signing secrets, encrypted at rest ---------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _cipher(settings: Settings) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mpp:webhook-secret").derive(
        settings.secret_key.get_secret_value().encode()
    )
    return AESGCM(key)


def _seal(settings: Settings, secret: str, subscription_id: str) -> str:
    nonce = os.urandom(12)
    sealed = _cipher(settings).encrypt(nonce, secret.encode(), subscription_id.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _open(settings: Settings, sealed: str, subscription_id: str) -> str:
    raw = base64.urlsafe_b64decode(sealed)
    return _cipher(settings).decrypt(raw[:12], raw[12:], subscription_id.encode()).decode()


def _signing_secrets(settings: Settings, subscription: Document, at: datetime) -> list[str]:
    """The current secret, and the previous one during its grace period after a rotation."""
    found = [_open(settings, subscription["secret"], subscription["_id"])]
    previous_until = subscription.get("previous_secret_until")
    if subscription.get("previous_secret") and previous_until and previous_until > at:
        found.append(_open(settings, subscription["previous_secret"], subscription["_id"]))
    return found


def sign(secrets_: list[str], *, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: one `v1` signature per secret, space-separated."""
    at = datetime.fromtimestamp(int(at.timestamp()), UTC)
    signatures = " ".join(Webhook(s).sign(message_id, at, body) for s in secrets_)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


# --- subscriptions ------------------------------------------------------------------------------


async def create(
    db: Db,
    *,
    settings: Settings,
    caller: Principal,
    subscription: SubscriptionInput,
    idempotency_key: str | None,
) -> tuple[Document, str, bool]:
    """A new subscription and its secret (True), or the one an earlier call with the same
    `Idempotency-Key` made (False)."""
    _authorize(caller)
    event_types = _validated_types(subscription.event_types)
    fields = _validated_fields(subscription.fields, event_types)
    agency = _agency_filter(caller, subscription.agency)
    await addresses.check_url(
        subscription.url, allow_private=settings.webhooks_may_reach_private_addresses
    )
    subscription_id = idempotency.command_id(
        scope=f"{caller.subject}:webhooks", key=idempotency_key
    )
    secret = new_secret()
    now = _now()
    document: Document = {
        "_id": subscription_id,
        "owner": caller.subject,
        "url": subscription.url,
        "event_types": event_types,
        "agency": agency,
        "fields": fields,
        "description": subscription.description,
        "active": True,
        "consecutive_failures": 0,
        "disabled_reason": None,
        "disabled_at": None,
        "notice": None,
        "secret": _seal(settings, secret, subscription_id),
        "created_at": now,
        "updated_at": now,
        "version": 1,
        idempotency.FINGERPRINT: idempotency.fingerprint(subscription),
    }
    if await store.insert_subscription(db, document):
        _forget(db)
        return document, secret, True
    existing = await store.find_subscription(db, subscription_id)
    if existing is None:  # deleted since the first call: the key's result is gone
        raise _not_found()
    idempotency.check_replay(existing, document[idempotency.FINGERPRINT])
    return existing, _open(settings, existing["secret"], subscription_id), False


async def listed(db: Db, *, caller: Principal) -> list[Document]:
    """The caller's subscriptions; all of them for MPP administrators."""
    _authorize(caller)
    query = {} if caller.role == "mpp_admin" else {"owner": caller.subject}
    return await store.subscriptions(db, query)


async def read(db: Db, *, caller: Principal, subscription_id: str) -> Document:
    """One of the caller's subscriptions, or a 404."""
    return await _load(db, caller, subscription_id)


async def update(
    db: Db,
    *,
    settings: Settings,
    caller: Principal,
    subscription_id: str,
    changes: SubscriptionUpdate,
) -> Document:
    """Change a subscription; switching a disabled one on clears its failures and notice."""
    current = await _load(db, caller, subscription_id)
    given = changes.model_fields_set
    now = _now()
    fields: Document = {"updated_at": now}
    if changes.url is not None:
        await addresses.check_url(
            changes.url, allow_private=settings.webhooks_may_reach_private_addresses
        )
        fields["url"] = changes.url
    event_types = current["event_types"]
    if changes.event_types is not None:
        event_types = fields["event_types"] = _validated_types(changes.event_types)
    chosen = changes.fields if "fields" in given else current["fields"]
    fields["fields"] = _validated_fields(chosen, event_types)
    if "description" in given:
        fields["description"] = changes.description
    if changes.active is True and not current["active"]:
        fields |= {
            "active": True,
            "consecutive_failures": 0,
            "disabled_reason": None,
            "disabled_at": None,
            "notice": None,
        }
    elif changes.active is False and current["active"]:
        fields |= {"active": False, "disabled_reason": "paused", "disabled_at": now}
    updated = await store.update_subscription(
        db, subscription_id, expected_version=current["version"], changes={"$set": fields}
    )
    if updated is None:
        raise _conflict()
    _forget(db)
    return updated


async def delete(db: Db, *, caller: Principal, subscription_id: str) -> None:
    """Remove a subscription, its delivery log and its pending attempts."""
    await _load(db, caller, subscription_id)
    await store.delete_subscription(db, subscription_id)
    _forget(db)


async def rotate_secret(
    db: Db, *, settings: Settings, caller: Principal, subscription_id: str
) -> tuple[str, datetime]:
    """A new signing secret; the current one keeps signing beside it for ROTATION_GRACE."""
    current = await _load(db, caller, subscription_id)
    secret = new_secret()
    now = _now()
    until = now + ROTATION_GRACE
    updated = await store.update_subscription(
        db,
        subscription_id,
        expected_version=current["version"],
        changes={
            "$set": {
                "secret": _seal(settings, secret, subscription_id),
                "previous_secret": current["secret"],
                "previous_secret_until": until,
                "updated_at": now,
            }
        },
    )
    if updated is None:
        raise _conflict()
    return secret, until


def _conflict() -> Problem:
    return Problem(
        409,
        "conflict",
        detail={
            "id": "Langganan ini baru saja diubah; muat ulang lalu coba lagi.",
            "en": "This subscription just changed; reload it and try again.",
        },
    )


async def deliveries(
    db: Db, *, caller: Principal, subscription_id: str, limit: int, cursor: str | None
) -> tuple[list[Document], str | None]:
    """A page of the subscription's delivery log, newest first, and the next page's cursor."""
    await _load(db, caller, subscription_id)
    found = await store.deliveries_of(
        db, subscription_id, limit=limit + 1, before=_decode_cursor(cursor)
    )
    shown = found[:limit]
    more = len(found) > limit
    last = shown[-1] if shown else None
    next_cursor = (
        pagination.encode_cursor(f"{last['created_at'].isoformat()}|{last['_id']}")
        if more and last
        else None
    )
    return shown, next_cursor


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    decoded = pagination.decode_cursor(cursor)
    if decoded is None:
        return None
    at, _, delivery_id = decoded.partition("|")
    try:
        return datetime.fromisoformat(at), delivery_id
    except ValueError:
        raise pagination.invalid_cursor() from None


async def send_test(
    db: Db,
    *,
    settings: Settings,
    http: httpx.AsyncClient,
    caller: Principal,
    subscription_id: str,
) -> Document:
    """Send a signed `partners.test` ping now, once, and log it (switched-off webhooks too, so a
    partner can check its receiver before switching it back on)."""
    subscription = await _load(db, caller, subscription_id)
    now = _now()
    delivery_id, event_id = new_id(), new_id()
    data = {
        "subscription_id": subscription_id,
        "message": "Uji webhook MPP Elektronik / MPP Elektronik webhook test",
    }
    body = _body(
        event_id=event_id, event_type=TEST_TYPE, time=now, subject=subscription_id, data=data
    )
    delivery = _new_delivery(
        delivery_id=delivery_id,
        subscription_id=subscription_id,
        event_id=event_id,
        event_type=TEST_TYPE,
        body=body,
        now=now,
    )
    await store.insert_delivery(db, delivery)
    outcome = await _send(http, settings, subscription, delivery_id=delivery_id, body=body)
    updated = await store.update_delivery(
        db,
        delivery_id,
        set_fields={
            "status": DELIVERED if outcome.ok else FAILED,
            "attempts": 1,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "last_attempt_at": now,
            "next_attempt_at": None,
            "finished_at": _now(),
        },
        unset=("body",),
    )
    return updated or delivery


# --- recording deliveries -----------------------------------------------------------------------


async def on_event(db: Db, settings: Settings, event: Event) -> int:
    """Record one delivery, due now, for each active subscription the event matches; the same
    event again records nothing. How many were recorded."""
    if event.type not in partner_contracts():
        return 0
    recorded = 0
    now = _now()
    for subscription in await _active_subscriptions(db):
        if not _matches(subscription, event):
            continue
        delivery_id = idempotency.derived_id(event.id, f"webhook:{subscription['_id']}")
        delivery = _new_delivery(
            delivery_id=delivery_id,
            subscription_id=subscription["_id"],
            event_id=event.id,
            event_type=event.type,
            body=_body(
                event_id=event.id,
                event_type=event.type,
                time=event.time,
                subject=event.subject,
                data=_selected(event, subscription["fields"]),
            ),
            now=now,
        )
        if await store.insert_delivery(db, delivery):
            recorded += 1
            due_at = now
        else:
            existing = await store.find_delivery(db, delivery_id)
            if existing is None or existing["status"] != PENDING:
                continue
            due_at = existing["next_attempt_at"]
        # Queued after the log entry: an event redelivered after a crash in between queues it.
        await store.enqueue(
            db, delivery_id=delivery_id, subscription_id=subscription["_id"], at=due_at
        )
    return recorded


def _matches(subscription: Document, event: Event) -> bool:
    """Of a chosen type, of the chosen agency (if any), and not older than the subscription."""
    if subscription["agency"] is not None and event.data.get("agency") != subscription["agency"]:
        return False
    if event.time < subscription["created_at"]:
        return False
    return any(event.type in types_matching(p) for p in subscription["event_types"])


def _selected(event: Event, fields: list[str] | None) -> Document:
    """The payload fields the subscription chose, among those of the event's contract."""
    contract_fields = partner_contracts()[event.type].model_fields
    wanted = (
        list(contract_fields) if fields is None else [f for f in fields if f in contract_fields]
    )
    return {name: event.data[name] for name in wanted if name in event.data}


def _body(*, event_id: str, event_type: str, time: datetime, subject: str, data: Document) -> str:
    """The JSON body, kept as sent so that every retry carries the same bytes and signature."""
    payload = {
        "id": event_id,
        "type": event_type,
        "timestamp": time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "subject": subject,
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)


def _new_delivery(
    *,
    delivery_id: str,
    subscription_id: str,
    event_id: str,
    event_type: str,
    body: str,
    now: datetime,
) -> Document:
    return {
        "_id": delivery_id,
        "subscription_id": subscription_id,
        "event_id": event_id,
        "event_type": event_type,
        "body": body,
        "status": PENDING,
        "attempts": 0,
        "last_status_code": None,
        "last_error": None,
        "created_at": now,
        "last_attempt_at": None,
        "next_attempt_at": now,
        "finished_at": None,
    }


async def _active_subscriptions(db: Db) -> list[Document]:
    """Active subscriptions, from a cache a few seconds old at most (changes made here clear it;
    another replica's show within SUBSCRIPTIONS_CACHE_SECONDS)."""
    cached = _active_cache.get(db.name)
    if cached and time.monotonic() - cached[0] < SUBSCRIPTIONS_CACHE_SECONDS:
        return cached[1]
    found = await store.subscriptions(db, {"active": True})
    _active_cache[db.name] = (time.monotonic(), found)
    return found


def _forget(db: Db) -> None:
    _active_cache.pop(db.name, None)


# --- attempting deliveries ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code, or why there was none."""

    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """Only a 2xx answer delivers (a redirect is not followed: it is a failure)."""
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay(attempts: int, *, retry_after: float | None = None) -> timedelta:
    """How long after its `attempts`-th failed attempt a delivery is tried again."""
    base = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    # Jitter spreads the retries of many deliveries to a partner that just came back (not a
    # secret: the standard generator is fine).
    seconds = base * random.uniform(0.8, 1.2)  # noqa: S311
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, RETRY_SCHEDULE[-1]))
    return timedelta(seconds=seconds)


async def deliver_due(
    db: Db, settings: Settings, http: httpx.AsyncClient, *, now: datetime | None = None
) -> int:
    """Attempt every delivery due by `now`, several at once; how many were attempted.

    Each is claimed first (a version check on its queue entry), so two replicas never send the
    same attempt; one that dies mid-attempt leaves it due again when its lease ends.
    """
    now = now or _now()
    lease = timedelta(seconds=settings.webhook_timeout_seconds + addresses.RESOLVE_SECONDS + 60)
    entries = await store.due(db, now=now, limit=DUE_BATCH)
    limit = asyncio.Semaphore(CONCURRENT_ATTEMPTS)

    async def attempt(entry: Document) -> bool:
        async with limit:
            claimed = await store.claim(db, entry, lease_until=now + lease)
            if claimed is None:
                return False
            return await _attempt(db, settings, http, claimed, now=now)

    return sum(await asyncio.gather(*(attempt(entry) for entry in entries)))


async def _attempt(
    db: Db, settings: Settings, http: httpx.AsyncClient, entry: Document, *, now: datetime
) -> bool:
    """One attempt of a claimed delivery and its bookkeeping; False if there was none to make."""
    delivery = await store.find_delivery(db, entry["_id"])
    if delivery is None or delivery["status"] != PENDING:
        await store.dequeue(db, entry["_id"])
        return False
    subscription = await store.find_subscription(db, delivery["subscription_id"])
    if subscription is None or not subscription["active"]:
        await _finish(db, delivery, status=CANCELLED, now=now, error="subscription switched off")
        return False
    outcome = await _send(
        http, settings, subscription, delivery_id=delivery["_id"], body=delivery["body"]
    )
    attempts = delivery["attempts"] + 1
    result = {"attempts": attempts, "last_status_code": outcome.status_code}
    if outcome.ok:
        await _finish(db, delivery, status=DELIVERED, now=now, **result)
        await store.reset_failures(db, subscription["_id"])
    elif outcome.status_code == 410:
        # 410 Gone: the partner says it wants no more (Standard Webhooks: disable the endpoint).
        await _finish(db, delivery, status=FAILED, now=now, error="410 Gone", **result)
        await _switch_off(db, subscription, reason="gone", now=now, min_failures=0)
    elif attempts >= settings.webhook_max_attempts:
        await _finish(db, delivery, status=FAILED, now=now, error=outcome.error, **result)
        counted = await store.count_failure(db, subscription["_id"])
        if counted and counted["consecutive_failures"] >= settings.webhook_disable_after_failures:
            await _switch_off(
                db,
                subscription,
                reason="consecutive_failures",
                now=now,
                min_failures=settings.webhook_disable_after_failures,
            )
    else:
        next_at = now + retry_delay(attempts, retry_after=outcome.retry_after)
        await store.update_delivery(
            db,
            delivery["_id"],
            set_fields={
                **result,
                "last_error": outcome.error,
                "last_attempt_at": now,
                "next_attempt_at": next_at,
            },
        )
        await store.reschedule(db, entry, at=next_at)
    return True


async def _finish(
    db: Db,
    delivery: Document,
    *,
    status: str,
    now: datetime,
    error: str | None = None,
    **result: Any,
) -> None:
    """Close a delivery's log entry (its body goes: only ids stay) and drop it from the queue."""
    attempted = {"last_attempt_at": now} if result else {}
    await store.update_delivery(
        db,
        delivery["_id"],
        set_fields={
            **result,
            **attempted,
            "status": status,
            "last_error": error,
            "next_attempt_at": None,
            "finished_at": now,
        },
        unset=("body",),
    )
    await store.dequeue(db, delivery["_id"])


async def _switch_off(
    db: Db, subscription: Document, *, reason: str, now: datetime, min_failures: int
) -> None:
    """Disable a failing webhook and leave the partner a notice on it."""
    message = {
        language: text.format(failures=min_failures)
        for language, text in NOTICES[f"disabled_{reason}"].items()
    }
    switched = await store.disable(
        db,
        subscription["_id"],
        min_failures=min_failures,
        fields={
            "disabled_reason": reason,
            "disabled_at": now,
            "notice": {"code": f"disabled_{reason}", "at": now, "message": message},
            "updated_at": now,
        },
    )
    if switched is not None:
        _forget(db)


async def _send(
    http: httpx.AsyncClient,
    settings: Settings,
    subscription: Document,
    *,
    delivery_id: str,
    body: str,
) -> Outcome:
    """POST the signed body to the subscription's URL, at an address checked just now."""
    try:
        target = await addresses.resolve(
            subscription["url"], allow_private=settings.webhooks_may_reach_private_addresses
        )
    except addresses.RefusedUrl as refused:
        return Outcome(error=f"address refused: {refused.reason}")
    try:
        signing = _signing_secrets(settings, subscription, _now())
    except (InvalidTag, ValueError):
        return Outcome(error="signing secret unreadable (was MPP_SECRET_KEY changed?)")
    # Signed at the wall clock, whatever `now` the caller scheduled by: receivers check it.
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        # No pooled connection outlives the attempt: it was made to one checked address for one
        # host and must not be reused for another host at the same address.
        "connection": "close",
        **sign(signing, message_id=delivery_id, body=body, at=_now()),
    }
    outcome = Outcome(error="no address")
    for address in target.addresses:
        url, host, server_name = addresses.pinned(target, address)
        try:
            async with (
                asyncio.timeout(settings.webhook_timeout_seconds),
                http.stream(
                    "POST",
                    url,
                    content=body.encode(),
                    headers=headers | host,
                    timeout=settings.webhook_timeout_seconds,
                    follow_redirects=False,
                    extensions={"sni_hostname": server_name},
                ) as response,
            ):
                # The answer's body is never read: a receiver cannot make us download anything.
                retry_after = _retry_after(response.headers.get("retry-after"))
                return Outcome(status_code=response.status_code, retry_after=retry_after)
        except httpx.ConnectError as exc:
            outcome = Outcome(error=_describe(exc))  # the next address may answer
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return Outcome(error=_describe(exc))
    return outcome


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timeout"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - _now()).total_seconds())
    except (TypeError, ValueError):
        return None
