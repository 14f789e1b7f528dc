"""Every query of messages, their history and the inbox, names, push subscriptions and the
sandbox provider.

`metadata` holds every table of the service: these, and those `contacts.store`,
`templates.store` and `webhooks.store` define on it (`tables()` imports them, for migrations
and tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Row,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db, inbox, outbox, pagination
from mpp_shared.contracts.catalog import LocalizedText
from notifications.models import (
    CREATED,
    SENDING,
    TECHNICAL,
    TEMPORARY,
    HistoryEntry,
    Message,
)

metadata = db.metadata()
outbox.table(metadata)
inbox.table(metadata)
Timestamp = DateTime(timezone=True)

messages = Table(
    "messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("citizen_id", Text),
    Column("subject", Text),
    Column("text", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp),
    Column("reference", Text),
    Column("last_detail", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("read_at", Timestamp),
    Index("ix_messages_event_id", "event_id"),
    Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_messages_created_at", "created_at"),
    # The inbox: one citizen's messages on a channel, newest first.
    Index(
        "ix_messages_citizen_id_channel_created_at_id", "citizen_id", "channel", "created_at", "id"
    ),
)

# What each attempt and each receipt made of a message, in order.
message_history = Table(
    "message_history",
    metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("message_id", Text, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("status", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_message_history_message_id_position", "message_id", "position"),
)

# Services' and agencies' names, for the text of messages.
names = Table(
    "names",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("code", Text, primary_key=True),
    Column("name_id", Text, nullable=False),
    Column("name_en", Text, nullable=False),
)

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("citizen_id", Text, nullable=False),
    Column("subscription", Text, nullable=False),
    Index("ix_push_subscriptions_citizen_id", "citizen_id"),
)

sandbox_messages = Table(
    "sandbox_messages",
    metadata,
    Column("message_id", Text, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("text", Text, nullable=False),
)

# The sandbox's scripted answers, taken one by one in order.
sandbox_outcomes = Table(
    "sandbox_outcomes",
    metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("recipient", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Index("ix_sandbox_outcomes_recipient_position", "recipient", "position"),
)


def tables() -> MetaData:
    """The metadata with every table of the service, the sub-areas' included."""
    from notifications.contacts import store as _contacts  # noqa: F401
    from notifications.templates import store as _templates  # noqa: F401
    from notifications.webhooks import store as _webhooks  # noqa: F401

    return metadata


# --- messages -------------------------------------------------------------------------------------

# A claimed message is `sending` until its lease ends; one left so is a sender that died.
DUE = (CREATED, TEMPORARY, TECHNICAL, SENDING)


def _message(row: Row[Any]) -> Message:
    values = dict(row._mapping)
    values["to"] = values.pop("recipient")
    return Message.model_validate(values)


async def insert_message(connection: AsyncConnection, message: Message) -> bool:
    """A new message; False when one with its id (event, channel, recipient) exists."""
    values = message.model_dump()
    values["recipient"] = values.pop("to")
    inserted = await connection.execute(
        insert(messages).values(values).on_conflict_do_nothing().returning(messages.c.id)
    )
    return inserted.first() is not None


async def find_message(
    connection: AsyncConnection, message_id: str, *, lock: bool = False
) -> Message | None:
    """A message by id, locked for this transaction when asked."""
    query = select(messages).where(messages.c.id == message_id)
    row = (await connection.execute(query.with_for_update() if lock else query)).first()
    return _message(row) if row else None


async def messages_of_event(connection: AsyncConnection, event_id: str) -> list[Message]:
    """The messages one event made, by channel."""
    query = select(messages).where(messages.c.event_id == event_id).order_by(messages.c.channel)
    return [_message(row) for row in await connection.execute(query)]


async def history(connection: AsyncConnection, message_id: str) -> list[HistoryEntry]:
    """What became of a message, attempt by attempt."""
    query = (
        select(message_history.c.at, message_history.c.status, message_history.c.detail)
        .where(message_history.c.message_id == message_id)
        .order_by(message_history.c.position)
    )
    return [HistoryEntry.model_validate(row._mapping) for row in await connection.execute(query)]


async def claim_due(
    connection: AsyncConnection, *, now: dt.datetime, lease_until: dt.datetime, limit: int
) -> list[Message]:
    """Claim up to `limit` messages due by `now` for one attempt each, skipping those another
    replica holds; each is `sending` until `lease_until`, due again then should we die."""
    due = (
        select(messages.c.id)
        .where(messages.c.status.in_(DUE), messages.c.next_attempt_at <= now)
        .order_by(messages.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await connection.execute(
        _claim().where(messages.c.id.in_(due)).values(next_attempt_at=lease_until)
    )
    return sorted((_message(row) for row in claimed), key=lambda m: m.created_at)


async def claim(
    connection: AsyncConnection, message_id: str, *, now: dt.datetime, lease_until: dt.datetime
) -> Message | None:
    """Claim one message due by `now` for one attempt; None when it is not due or taken."""
    claimed = await connection.execute(
        _claim()
        .where(
            messages.c.id == message_id,
            messages.c.status.in_(DUE),
            messages.c.next_attempt_at <= now,
        )
        .values(next_attempt_at=lease_until)
    )
    row = claimed.first()
    return _message(row) if row else None


def _claim() -> Any:
    return (
        update(messages)
        .values(status=SENDING, attempts=messages.c.attempts + 1)
        .returning(*messages.c)
    )


async def release(connection: AsyncConnection, message: Message, *, now: dt.datetime) -> None:
    """Give back a claimed message unattempted (the provider's rate was reached)."""
    await connection.execute(
        update(messages)
        .where(*_still_claimed(message))
        .values(status=CREATED, next_attempt_at=now, attempts=messages.c.attempts - 1)
    )


def _still_claimed(message: Message) -> tuple[Any, ...]:
    return (
        messages.c.id == message.id,
        messages.c.status == SENDING,
        messages.c.attempts == message.attempts,
    )


async def settle(
    connection: AsyncConnection,
    message: Message,
    *,
    entry: HistoryEntry,
    claimed: bool,
    changes: dict[str, Any],
) -> bool:
    """Record an attempt's or a receipt's outcome; with `claimed`, only while the message is
    still held by that attempt (a receipt may have finished it meanwhile). True when recorded."""
    guard = _still_claimed(message) if claimed else (messages.c.id == message.id,)
    changed = await connection.execute(
        update(messages).where(*guard).values(changes).returning(messages.c.id)
    )
    if changed.first() is None:
        return False
    await connection.execute(
        insert(message_history).values(message_id=message.id, **entry.model_dump())
    )
    return True


# --- the inbox ------------------------------------------------------------------------------------


def _inbox(citizen_id: str) -> tuple[Any, ...]:
    return (messages.c.citizen_id == citizen_id, messages.c.channel == "inbox")


async def inbox_page(
    connection: AsyncConnection,
    *,
    citizen_id: str,
    unread_only: bool,
    cursor: str | None,
    limit: int,
) -> list[Message]:
    """A page of a citizen's inbox, newest first, `limit + 1` messages at most."""
    query = select(messages).where(*_inbox(citizen_id))
    if unread_only:
        query = query.where(messages.c.read_at.is_(None))
    query = pagination.keyset(
        query,
        order_by=[messages.c.created_at, messages.c.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return [_message(row) for row in await connection.execute(query)]


async def unread_count(connection: AsyncConnection, citizen_id: str) -> int:
    """How many of a citizen's inbox messages are unread."""
    query = (
        select(func.count())
        .select_from(messages)
        .where(*_inbox(citizen_id), messages.c.read_at.is_(None))
    )
    return int((await connection.execute(query)).scalar_one())


async def mark_read(
    connection: AsyncConnection, *, citizen_id: str, message_id: str, now: dt.datetime
) -> bool:
    """Mark a citizen's inbox message read (keeping the first time); False if not theirs."""
    marked = await connection.execute(
        update(messages)
        .where(messages.c.id == message_id, *_inbox(citizen_id))
        .values(read_at=func.coalesce(messages.c.read_at, now))
        .returning(messages.c.id)
    )
    return marked.first() is not None


# --- delivery figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    """How many messages of a channel and status were created today and in the last day;
    `final` when they have no attempt left."""

    channel: str
    status: str
    final: bool
    today: int
    last_day: int


async def status_counts(
    connection: AsyncConnection, *, midnight: dt.datetime, day_ago: dt.datetime
) -> list[StatusCount]:
    """Messages created since `midnight` and since `day_ago`, by channel, status and finality."""
    final = messages.c.next_attempt_at.is_(None).label("final")
    query = (
        select(
            messages.c.channel,
            messages.c.status,
            final,
            func.count().filter(messages.c.created_at >= midnight).label("today"),
            func.count().filter(messages.c.created_at >= day_ago).label("last_day"),
        )
        .where(messages.c.created_at >= min(midnight, day_ago))
        .group_by(messages.c.channel, messages.c.status, final)
    )
    return [StatusCount(**row._mapping) for row in await connection.execute(query)]


# --- push subscriptions ---------------------------------------------------------------------------


async def save_push(
    connection: AsyncConnection, *, subscription_id: str, citizen_id: str, subscription: str
) -> None:
    """Keep a browser's push subscription for a citizen (the latest owner of a browser wins)."""
    statement = insert(push_subscriptions).values(
        id=subscription_id, citizen_id=citizen_id, subscription=subscription
    )
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[push_subscriptions.c.id],
            set_={"citizen_id": citizen_id, "subscription": subscription},
        )
    )


async def delete_push(
    connection: AsyncConnection, *, subscription_id: str, citizen_id: str
) -> None:
    """Forget one of a citizen's push subscriptions."""
    await connection.execute(
        delete(push_subscriptions).where(
            push_subscriptions.c.id == subscription_id,
            push_subscriptions.c.citizen_id == citizen_id,
        )
    )


async def push_of(connection: AsyncConnection, citizen_id: str) -> list[str]:
    """A citizen's browsers' push subscriptions, as JSON."""
    query = (
        select(push_subscriptions.c.subscription)
        .where(push_subscriptions.c.citizen_id == citizen_id)
        .order_by(push_subscriptions.c.id)
    )
    return list((await connection.execute(query)).scalars())


# --- names ----------------------------------------------------------------------------------------


async def save_name(
    connection: AsyncConnection, *, kind: str, code: str, name: LocalizedText
) -> None:
    """Keep a service's or an agency's name."""
    values = {"name_id": name.id, "name_en": name.en}
    statement = insert(names).values(kind=kind, code=code, **values)
    await connection.execute(
        statement.on_conflict_do_update(index_elements=[names.c.kind, names.c.code], set_=values)
    )


async def find_name(connection: AsyncConnection, *, kind: str, code: str) -> LocalizedText | None:
    """A service's or an agency's name, if known."""
    query = select(names.c.name_id, names.c.name_en).where(
        names.c.kind == kind, names.c.code == code
    )
    row = (await connection.execute(query)).first()
    return LocalizedText(id=row.name_id, en=row.name_en) if row else None


# --- the sandbox provider -------------------------------------------------------------------------


async def script_sandbox(connection: AsyncConnection, *, to: str, outcomes: Sequence[str]) -> None:
    """Replace the sandbox's next answers for a recipient."""
    await connection.execute(delete(sandbox_outcomes).where(sandbox_outcomes.c.recipient == to))
    if outcomes:
        await connection.execute(
            insert(sandbox_outcomes), [{"recipient": to, "outcome": o} for o in outcomes]
        )


async def next_scripted(connection: AsyncConnection, to: str) -> str | None:
    """Take the sandbox's next scripted answer for a recipient, if any."""
    first = (
        select(sandbox_outcomes.c.position)
        .where(sandbox_outcomes.c.recipient == to)
        .order_by(sandbox_outcomes.c.position)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    taken = await connection.execute(
        delete(sandbox_outcomes)
        .where(sandbox_outcomes.c.position.in_(first))
        .returning(sandbox_outcomes.c.outcome)
    )
    return taken.scalar_one_or_none()


async def record_sandbox(
    connection: AsyncConnection, *, message_id: str, channel: str, to: str, text: str
) -> None:
    """Record what the sandbox was asked to send (a retry records nothing more)."""
    await connection.execute(
        insert(sandbox_messages)
        .values(message_id=message_id, channel=channel, recipient=to, text=text)
        .on_conflict_do_nothing()
    )
