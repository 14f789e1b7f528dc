"""Partners' webhooks delivered: one delivery per event and subscription, signed attempts with
retries, switching off a webhook that keeps failing, and the test ping.

Each is sent as Standard Webhooks: a JSON body `{id, type, timestamp, subject, data}` signed with
the subscription's `whsec_` secret in the `webhook-id`, `webhook-timestamp` and
`webhook-signature` headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from cryptography.exceptions import InvalidTag
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from standardwebhooks import Webhook

from mpp_shared import db, idempotency
from mpp_shared.auth import Principal
from mpp_shared.contracts.catalog import LocalizedText
from mpp_shared.events import Event
from mpp_shared.ids import new_id
from notifications.settings import Settings
from notifications.webhooks import addresses, store
from notifications.webhooks.models import (
    CANCELLED,
    DELIVERED,
    FAILED,
    NOTICES,
    PENDING,
    DueDelivery,
    Notice,
    StoredDelivery,
    StoredSubscription,
)
from notifications.webhooks.service import (
    _load,
    _now,
    _open,
    partner_contracts,
    types_matching,
)

log = logging.getLogger(__name__)

TEST_TYPE = "partners.test"
USER_AGENT = "MPP-Elektronik-Webhooks/1.0"
# Seconds before retry n (jittered ±20%): 5 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h, 24 h.
RETRY_SCHEDULE = (5, 30, 120, 600, 3_600, 10_800, 21_600, 43_200, 86_400)
DUE_BATCH = 200
# Attempts in flight at once for one subscription. No cap over all of them: receivers that hang
# would fill it, and hold up every other partner again.
ATTEMPTS_PER_SUBSCRIPTION = 4


# --- signing ------------------------------------------------------------------------------------


def _signing_secrets(
    settings: Settings, subscription: StoredSubscription, at: datetime
) -> list[str]:
    """The current secret, and the previous one during its grace period after a rotation."""
    found = [_open(settings, subscription.secret, subscription.id)]
    previous_until = subscription.previous_secret_until
    if subscription.previous_secret and previous_until and previous_until > at:
        found.append(_open(settings, subscription.previous_secret, subscription.id))
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


# --- recording deliveries -----------------------------------------------------------------------


async def on_event(connection: AsyncConnection, event: Event) -> int:
    """Record one delivery, due now, for each active subscription the event matches; the same
    event again records nothing. How many were recorded."""
    if event.type not in partner_contracts():
        return 0
    recorded = 0
    now = _now()
    agency = event.data.get("agency")
    for subscription in await store.active_for(
        connection, at=event.time, agency=agency if isinstance(agency, str) else None
    ):
        if not _matches(subscription, event):
            continue
        delivery = _new_delivery(
            delivery_id=idempotency.derived_id(event.id, f"webhook:{subscription.id}"),
            subscription_id=subscription.id,
            event_id=event.id,
            event_type=event.type,
            body=_body(
                event_id=event.id,
                event_type=event.type,
                time=event.time,
                subject=event.subject,
                data=_selected(event, subscription.fields),
            ),
            now=now,
        )
        recorded += await store.insert_delivery(connection, delivery)
    return recorded


def _matches(subscription: StoredSubscription, event: Event) -> bool:
    """Of a chosen type, of the chosen agency (if any), and not older than the subscription."""
    if subscription.agency is not None and event.data.get("agency") != subscription.agency:
        return False
    if event.time < subscription.created_at:
        return False
    return any(event.type in types_matching(p) for p in subscription.event_types)


def _selected(event: Event, fields: list[str] | None) -> dict[str, Any]:
    """The payload fields the subscription chose, among those of the event's contract."""
    contract_fields = partner_contracts()[event.type].model_fields
    wanted = (
        list(contract_fields) if fields is None else [f for f in fields if f in contract_fields]
    )
    return {name: event.data[name] for name in wanted if name in event.data}


def _body(
    *, event_id: str, event_type: str, time: datetime, subject: str, data: dict[str, Any]
) -> str:
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
) -> StoredDelivery:
    return StoredDelivery(
        id=delivery_id,
        subscription_id=subscription_id,
        event_id=event_id,
        event_type=event_type,
        body=body,
        status=PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )


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


class Deliverer:
    """Attempts due deliveries, a few at once per subscription: a receiver that hangs holds its
    own slots and no other's. Each delivery is claimed as its attempt starts, so its lease counts
    from there, however long the attempts before it took.

    `now` fixes the clock (tests travel in time with it); without it each attempt reads the wall
    clock as it starts and as it ends."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        now: datetime | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.http = http
        self.now = now
        self.lease = timedelta(
            seconds=settings.webhook_timeout_seconds + addresses.RESOLVE_SECONDS + 60
        )
        self.attempting: Counter[str] = Counter()  # attempts in flight, by subscription

    def clock(self) -> datetime:
        """The time now, or the one fixed for this deliverer."""
        return self.now or _now()

    async def start_due(
        self, group: asyncio.TaskGroup, *, due_by: datetime | None = None
    ) -> list[asyncio.Task[bool]]:
        """Claim the deliveries due by `due_by` (now) that their subscriptions' free slots take,
        and start their attempts in `group`.

        They are claimed skipping those another replica holds, so two replicas never send the
        same attempt; one that dies mid-attempt leaves its claims due again when the lease ends.
        """
        now = self.clock()
        due_by = due_by or now
        full = [s for s, n in self.attempting.items() if n >= ATTEMPTS_PER_SUBSCRIPTION]
        async with db.transaction(self.engine) as connection:
            due = await store.due_deliveries(connection, now=due_by, skipping=full, limit=DUE_BATCH)
            chosen = self._within_slots(due)
            if not chosen:
                return []
            claimed = await store.claim(
                connection, chosen, now=due_by, lease_until=now + self.lease
            )
        self.attempting.update(delivery.subscription_id for delivery in claimed)
        return [group.create_task(self._attempt(delivery)) for delivery in claimed]

    def _within_slots(self, due: list[DueDelivery]) -> list[str]:
        """The due deliveries that their subscriptions' free slots take, oldest first."""
        taken = Counter(self.attempting)
        chosen = []
        for delivery in due:
            if taken[delivery.subscription_id] < ATTEMPTS_PER_SUBSCRIPTION:
                taken[delivery.subscription_id] += 1
                chosen.append(delivery.id)
        return chosen

    async def _attempt(self, delivery: StoredDelivery) -> bool:
        try:
            return await _attempt(self.engine, self.settings, self.http, delivery, clock=self.clock)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            # Not recorded: the delivery is due again when its lease ends; the others go on.
            log.warning("webhook delivery %s: %s", delivery.id, exc)
            return False
        finally:
            self.attempting[delivery.subscription_id] -= 1
            if not self.attempting[delivery.subscription_id]:
                del self.attempting[delivery.subscription_id]


async def deliver_due(
    engine: AsyncEngine, settings: Settings, http: httpx.AsyncClient, *, now: datetime | None = None
) -> int:
    """Attempt every delivery due by `now` and wait for them (see `Deliverer`); how many were
    attempted."""
    deliverer = Deliverer(engine, settings, http, now=now)
    due_by = deliverer.clock()
    attempted = 0
    async with asyncio.TaskGroup() as group:
        # A subscription with more due than its slots takes the rest in later rounds.
        while started := await deliverer.start_due(group, due_by=due_by):
            attempted += sum(await asyncio.gather(*started))
    return attempted


async def _attempt(
    engine: AsyncEngine,
    settings: Settings,
    http: httpx.AsyncClient,
    delivery: StoredDelivery,
    *,
    clock: Callable[[], datetime],
) -> bool:
    """One attempt of a claimed delivery and its bookkeeping; False if there was none to make."""
    async with engine.connect() as connection:
        subscription = await store.find_subscription(connection, delivery.subscription_id)
    if subscription is None or not subscription.active or delivery.body is None:
        async with db.transaction(engine) as connection:
            await _finish(
                connection,
                delivery,
                status=CANCELLED,
                now=clock(),
                error="subscription switched off",
            )
        return False
    outcome = await _send(http, settings, subscription, delivery_id=delivery.id, body=delivery.body)
    now = clock()  # the attempt's end: a retry is backed off from here, however long it took
    attempts = delivery.attempts + 1
    result: dict[str, Any] = {"attempts": attempts, "last_status_code": outcome.status_code}
    async with db.transaction(engine) as connection:
        if outcome.ok:
            if await _finish(connection, delivery, status=DELIVERED, now=now, **result):
                await store.reset_failures(connection, subscription.id)
        elif outcome.status_code == 410:
            # 410 Gone: the partner wants no more (Standard Webhooks: disable the endpoint).
            if await _finish(
                connection, delivery, status=FAILED, now=now, error="410 Gone", **result
            ):
                await _switch_off(connection, subscription, reason="gone", now=now, min_failures=0)
        elif attempts >= settings.webhook_max_attempts:
            if await _finish(
                connection, delivery, status=FAILED, now=now, error=outcome.error, **result
            ):
                failures = await store.count_failure(connection, subscription.id)
                if failures >= settings.webhook_disable_after_failures:
                    await _switch_off(
                        connection,
                        subscription,
                        reason="consecutive_failures",
                        now=now,
                        min_failures=settings.webhook_disable_after_failures,
                    )
        else:
            next_at = now + retry_delay(attempts, retry_after=outcome.retry_after)
            await store.record_attempt(
                connection,
                delivery,
                changes={
                    **result,
                    "last_error": outcome.error,
                    "last_attempt_at": now,
                    "next_attempt_at": next_at,
                },
            )
    return True


async def _finish(
    connection: AsyncConnection,
    delivery: StoredDelivery,
    *,
    status: str,
    now: datetime,
    error: str | None = None,
    **result: Any,
) -> bool:
    """Close a delivery (its body goes: only ids stay); False if another attempt was recorded
    since this one was claimed."""
    attempted = {"last_attempt_at": now} if result else {}
    finished = await store.record_attempt(
        connection,
        delivery,
        changes={
            **result,
            **attempted,
            "status": status,
            "last_error": error,
            "next_attempt_at": None,
            "finished_at": now,
            "body": None,
        },
    )
    return finished is not None


async def _switch_off(
    connection: AsyncConnection,
    subscription: StoredSubscription,
    *,
    reason: str,
    now: datetime,
    min_failures: int,
) -> None:
    """Disable a failing webhook and leave the partner a notice on it."""
    message = LocalizedText.model_validate(
        {
            language: text.format(failures=min_failures)
            for language, text in NOTICES[f"disabled_{reason}"].items()
        }
    )
    await store.disable(
        connection,
        subscription.id,
        min_failures=min_failures,
        changes={
            "disabled_reason": reason,
            "disabled_at": now,
            "notice": Notice(code=f"disabled_{reason}", at=now, message=message),
            "updated_at": now,
        },
    )


async def _send(
    http: httpx.AsyncClient,
    settings: Settings,
    subscription: StoredSubscription,
    *,
    delivery_id: str,
    body: str,
) -> Outcome:
    """POST the signed body to the subscription's URL, at an address checked just now."""
    try:
        target = await addresses.resolve(
            subscription.url, allow_private=settings.webhooks_may_reach_private_addresses
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


# --- the test ping ------------------------------------------------------------------------------


async def send_test(
    engine: AsyncEngine,
    *,
    settings: Settings,
    http: httpx.AsyncClient,
    caller: Principal,
    subscription_id: str,
) -> StoredDelivery:
    """Send a signed `partners.test` ping now, once, and log it (switched-off webhooks too, so a
    partner can check its receiver before switching it back on)."""
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
    # Pending with no next attempt: being sent here, never by the sending loop.
    logged = delivery.model_copy(update={"attempts": 1, "next_attempt_at": None})
    async with db.transaction(engine) as connection:
        subscription = await _load(connection, caller, subscription_id)
        await store.insert_delivery(connection, logged)
    outcome = await _send(http, settings, subscription, delivery_id=delivery_id, body=body)
    async with db.transaction(engine) as connection:
        updated = await store.record_attempt(
            connection,
            logged,
            changes={
                "status": DELIVERED if outcome.ok else FAILED,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
                "last_attempt_at": now,
                "finished_at": _now(),
                "body": None,
            },
        )
    return updated or logged
