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
    and_,
    bindparam,
    delete,
    func,
    or_,
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


# The statements run for every message are built once, with bound parameters: building one per
# call, and SQLAlchemy computing the cache key of every new statement object, cost about twice
# the CPU of executing a prebuilt one (0.40 ms against 0.22 ms for a select, measured).
_INSERT_MESSAGE = insert(messages).on_conflict_do_nothing().returning(messages.c.id)
_MESSAGE = select(messages).where(messages.c.id == bindparam("message_id"))
_MESSAGE_LOCKED = _MESSAGE.with_for_update()


async def insert_message(connection: AsyncConnection, message: Message) -> bool:
    """A new message; False when one with its id (event, channel, recipient) exists."""
    values = message.model_dump()
    values["recipient"] = values.pop("to")
    inserted = await connection.execute(_INSERT_MESSAGE, values)
    return inserted.first() is not None


async def insert_messages(connection: AsyncConnection, planned: Sequence[Message]) -> int:
    """New messages, in one statement (one per message was 40% of planning's CPU, measured);
    how many were new: one whose id exists is skipped."""
    if not planned:
        return 0
    rows = [message.model_dump() for message in planned]
    for values in rows:
        values["recipient"] = values.pop("to")
    return len((await connection.execute(_INSERT_MESSAGE, rows)).all())


async def find_message(
    connection: AsyncConnection, message_id: str, *, lock: bool = False
) -> Message | None:
    """A message by id, locked for this transaction when asked."""
    query = _MESSAGE_LOCKED if lock else _MESSAGE
    row = (await connection.execute(query, {"message_id": message_id})).first()
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


# A claim is one more attempt, `sending` until its lease ends.
_CLAIM = (
    update(messages)
    .values(
        status=SENDING,
        attempts=messages.c.attempts + 1,
        next_attempt_at=bindparam("lease_until"),
    )
    .returning(*messages.c)
)
_IS_DUE = (messages.c.status.in_(DUE), messages.c.next_attempt_at <= bindparam("now"))
_DUE_FIRST = (
    select(messages.c.id)
    .where(*_IS_DUE)
    .order_by(messages.c.next_attempt_at)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(skip_locked=True)
)
_CLAIM_DUE = _CLAIM.where(messages.c.id.in_(_DUE_FIRST))
_CLAIM_DUE_ON = _CLAIM.where(
    messages.c.id.in_(
        _DUE_FIRST.where(messages.c.channel.in_(bindparam("channels", expanding=True)))
    )
)
_CLAIM_ONE = _CLAIM.where(messages.c.id == bindparam("message_id"), *_IS_DUE)


async def claim_due(
    connection: AsyncConnection,
    *,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    channels: Sequence[str] | None = None,
) -> list[Message]:
    """Claim up to `limit` messages due by `now` for one attempt each (on these `channels`, or
    any), skipping those another replica holds; each is `sending` until `lease_until`, due again
    then should we die."""
    values: dict[str, Any] = {"now": now, "lease_until": lease_until, "limit": limit}
    if channels is None:
        claimed = await connection.execute(_CLAIM_DUE, values)
    else:
        claimed = await connection.execute(_CLAIM_DUE_ON, values | {"channels": list(channels)})
    return sorted((_message(row) for row in claimed), key=lambda m: m.created_at)


async def claim(
    connection: AsyncConnection, message_id: str, *, now: dt.datetime, lease_until: dt.datetime
) -> Message | None:
    """Claim one message due by `now` for one attempt; None when it is not due or taken."""
    claimed = await connection.execute(
        _CLAIM_ONE, {"message_id": message_id, "now": now, "lease_until": lease_until}
    )
    row = claimed.first()
    return _message(row) if row else None


# Still held by the attempt that claimed it: `sending`, with that attempt's count.
_STILL_CLAIMED = (
    messages.c.id == bindparam("message_id"),
    messages.c.status == SENDING,
    messages.c.attempts == bindparam("claimed_attempts"),
)
_RELEASE = (
    update(messages)
    .where(*_STILL_CLAIMED)
    .values(status=CREATED, next_attempt_at=bindparam("now"), attempts=messages.c.attempts - 1)
)
# Settling sets the columns its parameters name (the changes), besides those of the guard.
_SETTLE = update(messages).where(messages.c.id == bindparam("message_id")).returning(messages.c.id)
_SETTLE_CLAIMED = update(messages).where(*_STILL_CLAIMED).returning(messages.c.id)
_INSERT_HISTORY = insert(message_history)


def _claimed(message: Message) -> dict[str, Any]:
    return {"message_id": message.id, "claimed_attempts": message.attempts}


async def release(connection: AsyncConnection, message: Message, *, now: dt.datetime) -> None:
    """Give back a claimed message unattempted (the provider's rate was reached)."""
    await connection.execute(_RELEASE, _claimed(message) | {"now": now})


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
    if claimed:
        changed = await connection.execute(_SETTLE_CLAIMED, changes | _claimed(message))
    else:
        changed = await connection.execute(_SETTLE, changes | {"message_id": message.id})
    if changed.first() is None:
        return False
    await connection.execute(_INSERT_HISTORY, {"message_id": message.id, **entry.model_dump()})
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


async def unaddressed_counts(
    connection: AsyncConnection, *, midnight: dt.datetime, day_ago: dt.datetime
) -> tuple[int, int]:
    """Staff alerts that had nobody to go to (no recipient), since `midnight` and `day_ago`."""
    c = messages.c
    query = select(
        func.count().filter(c.created_at >= midnight),
        func.count().filter(c.created_at >= day_ago),
    ).where(c.created_at >= min(midnight, day_ago), c.recipient == "", c.citizen_id.is_(None))
    today, last_day = (await connection.execute(query)).one()
    return int(today), int(last_day)


# --- push subscriptions ---------------------------------------------------------------------------


async def save_push(
    connection: AsyncConnection, *, subscription_id: str, citizen_id: str, subscription: str
) -> bool:
    """Keep a browser's push subscription for a citizen (again is fine); False when the browser's
    endpoint is another citizen's, which stays theirs."""
    statement = insert(push_subscriptions).values(
        id=subscription_id, citizen_id=citizen_id, subscription=subscription
    )
    kept = await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[push_subscriptions.c.id],
            set_={"subscription": subscription},
            where=push_subscriptions.c.citizen_id == citizen_id,
        ).returning(push_subscriptions.c.id)
    )
    return kept.first() is not None


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


# Both names a message may use, in one prebuilt query rather than one built per name.
_NAMES = select(names).where(
    or_(
        and_(names.c.kind == "service", names.c.code == bindparam("service")),
        and_(names.c.kind == "agency", names.c.code == bindparam("agency")),
    )
)


async def find_names(
    connection: AsyncConnection, *, service: str, agency: str
) -> dict[str, LocalizedText]:
    """The names known of a service and an agency, by kind (`service`, `agency`)."""
    rows = await connection.execute(_NAMES, {"service": service, "agency": agency})
    return {row.kind: LocalizedText(id=row.name_id, en=row.name_en) for row in rows}


# --- the sandbox provider -------------------------------------------------------------------------


async def script_sandbox(connection: AsyncConnection, *, to: str, outcomes: Sequence[str]) -> None:
    """Replace the sandbox's next answers for a recipient."""
    await connection.execute(delete(sandbox_outcomes).where(sandbox_outcomes.c.recipient == to))
    if outcomes:
        await connection.execute(
            insert(sandbox_outcomes), [{"recipient": to, "outcome": o} for o in outcomes]
        )


# Taken for every SMS and WhatsApp message the sandbox sends: prebuilt.
_NEXT_SCRIPTED = (
    delete(sandbox_outcomes)
    .where(
        sandbox_outcomes.c.position.in_(
            select(sandbox_outcomes.c.position)
            .where(sandbox_outcomes.c.recipient == bindparam("to"))
            .order_by(sandbox_outcomes.c.position)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    )
    .returning(sandbox_outcomes.c.outcome)
)
_RECORD_SANDBOX = insert(sandbox_messages).on_conflict_do_nothing()


async def next_scripted(connection: AsyncConnection, to: str) -> str | None:
    """Take the sandbox's next scripted answer for a recipient, if any."""
    taken = await connection.execute(_NEXT_SCRIPTED, {"to": to})
    return taken.scalar_one_or_none()


async def record_sandbox(
    connection: AsyncConnection, *, message_id: str, channel: str, to: str, text: str
) -> None:
    """Record what the sandbox was asked to send (a retry records nothing more)."""
    await connection.execute(
        _RECORD_SANDBOX,
        {"message_id": message_id, "channel": channel, "recipient": to, "text": text},
    )
