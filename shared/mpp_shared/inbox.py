"""The inbox: the ids of the events a service has applied, recorded in the same transaction as
their effect. A redelivered event finds its id and changes nothing, by construction; the
consumer runner does this for every handler of a service on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, MetaData, Table, Text, func
from sqlalchemy import text as sa_text
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared.events import Event

# Kafka keeps records for 7 days; an id older than this cannot come back.
KEEP = dt.timedelta(days=30)


def table(metadata: MetaData) -> Table:
    """The inbox table, added to a service's metadata (its migrations create it)."""
    return Table(
        "inbox",
        metadata,
        Column("event_id", Text, primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def claim(connection: AsyncConnection, event: Event) -> bool:
    """Record that the event is being applied; False when it was applied before."""
    inserted = await connection.execute(_CLAIM, {"id": event.id, "type": event.type})
    return inserted.first() is not None


# Built once: SQLAlchemy works out a statement's cache key once per statement object.
_CLAIM = sa_text(
    "INSERT INTO inbox (event_id, event_type) VALUES (:id, :type)"
    " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


async def forget_old(connection: AsyncConnection, *, now: dt.datetime) -> int:
    """Drop the ids of events too old to be delivered again; returns how many."""
    result = await connection.execute(
        sa_text("DELETE FROM inbox WHERE applied_at < :before"), {"before": now - KEEP}
    )
    return int(result.rowcount or 0)
