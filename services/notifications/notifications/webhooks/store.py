"""Every query of partners' webhooks: subscriptions and their deliveries (the log, and the
pending ones, which are the queue of due attempts)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Row,
    Table,
    Text,
    bindparam,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import pagination
from notifications.store import metadata
from notifications.webhooks.models import (
    PENDING,
    DueDelivery,
    Notice,
    StoredDelivery,
    StoredSubscription,
)

Timestamp = DateTime(timezone=True)

subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("event_types", ARRAY(Text), nullable=False),
    Column("agency", Text),
    Column("fields", ARRAY(Text)),
    Column("description", Text),
    Column("active", Boolean, nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("disabled_reason", Text),
    Column("disabled_at", Timestamp),
    # The notice left for the partner when the service switched the webhook off.
    Column("notice_code", Text),
    Column("notice_at", Timestamp),
    Column("notice_id", Text),
    Column("notice_en", Text),
    # Signing secrets, sealed with the service's key.
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_secret_until", Timestamp),
    Column("request_fingerprint", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_webhook_subscriptions_owner_created_at", "owner", "created_at"),
    Index("ix_webhook_subscriptions_active", "active"),
)

deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Text, primary_key=True),
    Column(
        "subscription_id",
        Text,
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    # The JSON body exactly as signed, kept until the delivery is finished.
    Column("body", Text),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("last_attempt_at", Timestamp),
    Column("next_attempt_at", Timestamp),
    Column("finished_at", Timestamp),
    Index(
        "ix_webhook_deliveries_subscription_id_created_at_id",
        "subscription_id",
        "created_at",
        "id",
    ),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)


# --- subscriptions ------------------------------------------------------------------------------


def _subscription(row: Row[Any]) -> StoredSubscription:
    values = dict(row._mapping)
    code, at = values.pop("notice_code"), values.pop("notice_at")
    message = {"id": values.pop("notice_id"), "en": values.pop("notice_en")}
    values["notice"] = Notice(code=code, at=at, message=message) if code and at else None
    return StoredSubscription.model_validate(values)


def _columns(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for a subscription's fields: a notice takes four columns."""
    values = dict(changes)
    if "notice" in values:
        raw = values.pop("notice")
        notice = None if raw is None else Notice.model_validate(raw)
        values |= {
            "notice_code": notice.code if notice else None,
            "notice_at": notice.at if notice else None,
            "notice_id": notice.message.id if notice else None,
            "notice_en": notice.message.en if notice else None,
        }
    return values


async def insert_subscription(
    connection: AsyncConnection, subscription: StoredSubscription
) -> bool:
    """A new subscription; False when its id (from an idempotency key) exists already."""
    inserted = await connection.execute(
        insert(subscriptions)
        .values(_columns(subscription.model_dump()))
        .on_conflict_do_nothing()
        .returning(subscriptions.c.id)
    )
    return inserted.first() is not None


async def find_subscription(
    connection: AsyncConnection, subscription_id: str
) -> StoredSubscription | None:
    """A subscription by id, or None."""
    query = select(subscriptions).where(subscriptions.c.id == subscription_id)
    row = (await connection.execute(query)).first()
    return _subscription(row) if row else None


async def subscriptions_of(
    connection: AsyncConnection, *, owner: str | None
) -> list[StoredSubscription]:
    """An owner's subscriptions (everyone's without one), oldest first."""
    query = select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id)
    if owner is not None:
        query = query.where(subscriptions.c.owner == owner)
    return [_subscription(row) for row in await connection.execute(query)]


# Read for every event a partner may take: prebuilt (building it per event cost more CPU than
# running it). A null agency matches only the subscriptions filtered by none, as before.
_ACTIVE_FOR = (
    select(subscriptions)
    .where(
        subscriptions.c.active,
        subscriptions.c.created_at <= bindparam("at"),
        or_(subscriptions.c.agency.is_(None), subscriptions.c.agency == bindparam("agency")),
    )
    .order_by(subscriptions.c.created_at, subscriptions.c.id)
)


async def active_for(
    connection: AsyncConnection, *, at: datetime, agency: str | None
) -> list[StoredSubscription]:
    """Active subscriptions made by `at` that take events of `agency` (those filtered by no
    agency take all)."""
    rows = await connection.execute(_ACTIVE_FOR, {"at": at, "agency": agency})
    return [_subscription(row) for row in rows]


async def update_subscription(
    connection: AsyncConnection,
    subscription_id: str,
    *,
    expected_version: int,
    changes: Mapping[str, Any],
) -> StoredSubscription | None:
    """Change a subscription still at `expected_version`; None if it changed meanwhile."""
    updated = await connection.execute(
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id, subscriptions.c.version == expected_version)
        .values({**_columns(changes), "version": subscriptions.c.version + 1})
        .returning(*subscriptions.c)
    )
    row = updated.first()
    return _subscription(row) if row else None


async def delete_subscription(connection: AsyncConnection, subscription_id: str) -> bool:
    """Remove a subscription with its deliveries; False if it was not there."""
    deleted = await connection.execute(
        delete(subscriptions)
        .where(subscriptions.c.id == subscription_id)
        .returning(subscriptions.c.id)
    )
    return deleted.first() is not None


async def count_failure(connection: AsyncConnection, subscription_id: str) -> int:
    """One more consecutive failed delivery; how many in a row now."""
    counted = await connection.execute(
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id)
        .values(consecutive_failures=subscriptions.c.consecutive_failures + 1)
        .returning(subscriptions.c.consecutive_failures)
    )
    return int(counted.scalar_one_or_none() or 0)


async def reset_failures(connection: AsyncConnection, subscription_id: str) -> None:
    """A delivery went through: the failures in a row start again from zero."""
    await connection.execute(
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id, subscriptions.c.consecutive_failures > 0)
        .values(consecutive_failures=0)
    )


async def disable(
    connection: AsyncConnection,
    subscription_id: str,
    *,
    min_failures: int,
    changes: Mapping[str, Any],
) -> bool:
    """Switch an active subscription off if it has failed at least `min_failures` times in a row;
    False when it is off already (another replica did it) or recovered."""
    switched = await connection.execute(
        update(subscriptions)
        .where(
            subscriptions.c.id == subscription_id,
            subscriptions.c.active,
            subscriptions.c.consecutive_failures >= min_failures,
        )
        .values({**_columns(changes), "active": False, "version": subscriptions.c.version + 1})
        .returning(subscriptions.c.id)
    )
    return switched.first() is not None


# --- deliveries ---------------------------------------------------------------------------------


def _delivery(row: Row[Any]) -> StoredDelivery:
    return StoredDelivery.model_validate(row._mapping)


async def insert_delivery(connection: AsyncConnection, delivery: StoredDelivery) -> bool:
    """A new delivery; False when one for the same event and subscription exists."""
    inserted = await connection.execute(
        insert(deliveries)
        .values(delivery.model_dump())
        .on_conflict_do_nothing()
        .returning(deliveries.c.id)
    )
    return inserted.first() is not None


async def find_delivery(connection: AsyncConnection, delivery_id: str) -> StoredDelivery | None:
    """A delivery by id, or None."""
    query = select(deliveries).where(deliveries.c.id == delivery_id)
    row = (await connection.execute(query)).first()
    return _delivery(row) if row else None


async def record_attempt(
    connection: AsyncConnection,
    delivery: StoredDelivery,
    *,
    changes: Mapping[str, Any],
) -> StoredDelivery | None:
    """Record an attempt's outcome unless another attempt was recorded since this one was
    claimed; the delivery after it."""
    updated = await connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery.id, deliveries.c.attempts == delivery.attempts)
        .values(dict(changes))
        .returning(*deliveries.c)
    )
    row = updated.first()
    return _delivery(row) if row else None


async def deliveries_page(
    connection: AsyncConnection, subscription_id: str, *, cursor: str | None, limit: int
) -> list[StoredDelivery]:
    """A page of a subscription's deliveries, newest first, `limit + 1` at most."""
    query = select(*(c for c in deliveries.c if c.name != "body")).where(
        deliveries.c.subscription_id == subscription_id
    )
    query = pagination.keyset(
        query,
        order_by=[deliveries.c.created_at, deliveries.c.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return [_delivery(row) for row in await connection.execute(query)]


async def due_deliveries(
    connection: AsyncConnection, *, now: datetime, skipping: Collection[str], limit: int
) -> list[DueDelivery]:
    """Up to `limit` pending deliveries due by `now`, oldest due first, leaving out those of the
    subscriptions in `skipping`; read, not claimed."""
    query = (
        select(deliveries.c.id, deliveries.c.subscription_id)
        .where(deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= now)
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
    )
    if skipping:
        query = query.where(deliveries.c.subscription_id.not_in(skipping))
    return [DueDelivery.model_validate(row._mapping) for row in await connection.execute(query)]


async def claim(
    connection: AsyncConnection,
    delivery_ids: Collection[str],
    *,
    now: datetime,
    lease_until: datetime,
) -> list[StoredDelivery]:
    """Claim those of these deliveries still due by `now`, skipping those another replica
    holds; each is due again at `lease_until`, should this replica die mid-attempt."""
    due = (
        select(deliveries.c.id)
        .where(
            deliveries.c.id.in_(delivery_ids),
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
        )
        .with_for_update(skip_locked=True)
    )
    claimed = await connection.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(due))
        .values(next_attempt_at=lease_until)
        .returning(*deliveries.c)
    )
    return [_delivery(row) for row in claimed]
