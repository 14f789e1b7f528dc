"""Every query of bookings: the bookings and the seats that keep slots from being overbooked.

A seat row names what it holds: seat k of one slot of one counter's service on one day. Its
primary key lets exactly one of concurrent takers have it, and the booking that holds it is
written in the same transaction, so a request that dies half-way holds nothing. A partial
unique index keeps one active booking per citizen, service and day.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from applications.bookings.models import BookingRecord
from applications.store import metadata
from mpp_shared import outbox, pagination
from mpp_shared.events import Event

Moment = DateTime(timezone=True)

bookings = Table(
    "bookings",
    metadata,
    Column("id", Text, primary_key=True),
    Column("ticket_code", Text, nullable=False, unique=True),  # never handed out twice
    Column("state", Text, nullable=False),  # booked, cancelled
    Column("citizen_id", Text, nullable=False),
    Column("idempotency_key", Text),
    Column("request_fingerprint", Text),
    Column("service_id", Text, nullable=False),
    Column("service_slug", Text, nullable=False),
    Column("service_name", JSONB, nullable=False),
    Column("agency", Text, nullable=False),
    Column("counter", Text, nullable=False),
    Column("counter_name", JSONB, nullable=False),
    Column("date", Date, nullable=False),
    Column("starts_at", Moment, nullable=False),
    Column("ends_at", Moment, nullable=False),
    Column("application_id", Text),
    Column("created_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
    Column("cancelled_at", Moment),
    Column("version", Integer, nullable=False),
    UniqueConstraint("citizen_id", "idempotency_key"),
    Index("ix_bookings_citizen_id_created_at_id", "citizen_id", "created_at", "id"),
    Index("ix_bookings_agency_date_starts_at", "agency", "date", "starts_at"),
    Index(
        "uq_bookings_booked_citizen_id_service_id_date",
        "citizen_id",
        "service_id",
        "date",
        unique=True,
        postgresql_where=text("state = 'booked'"),
    ),
)

booking_seats = Table(
    "booking_seats",
    metadata,
    Column("day_key", Text, nullable=False),  # `<agency>:<counter>:<service>:<date>`
    Column("slot", Text, nullable=False),  # the local start, HHMM
    Column("seat", Integer, nullable=False),
    # Checked at commit: the seat is taken before the booking that holds it is written.
    Column(
        "booking_id",
        Text,
        ForeignKey("bookings.id", deferrable=True, initially="DEFERRED"),
        nullable=False,
        unique=True,
    ),
    PrimaryKeyConstraint("day_key", "slot", "seat"),
)

COLUMNS = [bookings.c[name] for name in BookingRecord.model_fields]


async def find(
    connection: AsyncConnection, booking_id: str, *, for_update: bool = False
) -> BookingRecord | None:
    """A booking by id, or None; locked until the transaction ends when `for_update`."""
    query = select(*COLUMNS).where(bookings.c.id == booking_id)
    row = (await connection.execute(query.with_for_update() if for_update else query)).first()
    return BookingRecord.model_validate(row._mapping) if row else None


async def wait_for_key(connection: AsyncConnection, booking_id: str) -> None:
    """Hold the booking's id until the transaction ends: a retry with the same key waits for
    the first request, then finds its booking."""
    await connection.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(booking_id, 0)))
    )


async def insert(
    connection: AsyncConnection,
    booking: BookingRecord,
    *,
    idempotency_key: str | None,
    new_events: Sequence[Event],
) -> bool:
    """A new booking with its events; False when its id (from the idempotency key) exists.
    Another active booking of the citizen that day, or a ticket code taken meanwhile, raise
    IntegrityError."""
    inserted = await connection.execute(
        pg_insert(bookings)
        .values(**booking.model_dump(mode="python"), idempotency_key=idempotency_key)
        .on_conflict_do_nothing(index_elements=[bookings.c.id])
        .returning(bookings.c.id)
    )
    if inserted.first() is None:
        return False
    await outbox.record(connection, new_events)
    return True


async def cancel(
    connection: AsyncConnection, booking_id: str, *, now: dt.datetime, new_events: Sequence[Event]
) -> BookingRecord:
    """Cancel a booking and free its seat, with its events."""
    changed = await connection.execute(
        update(bookings)
        .where(bookings.c.id == booking_id)
        .values(state="cancelled", cancelled_at=now, updated_at=now, version=bookings.c.version + 1)
        .returning(*COLUMNS)
    )
    cancelled = BookingRecord.model_validate(changed.one()._mapping)
    await connection.execute(delete(booking_seats).where(booking_seats.c.booking_id == booking_id))
    await outbox.record(connection, new_events)
    return cancelled


async def has_active(
    connection: AsyncConnection, *, citizen_id: str, service_id: str, day: dt.date
) -> bool:
    """Whether the citizen has a booking of the service that day."""
    found = await connection.execute(
        select(bookings.c.id).where(
            bookings.c.citizen_id == citizen_id,
            bookings.c.service_id == service_id,
            bookings.c.date == day,
            bookings.c.state == "booked",
        )
    )
    return found.first() is not None


async def ticket_taken(connection: AsyncConnection, code: str) -> bool:
    """Whether a ticket code was ever handed out."""
    found = await connection.execute(select(bookings.c.id).where(bookings.c.ticket_code == code))
    return found.first() is not None


async def of_citizen(
    connection: AsyncConnection, citizen_id: str, *, cursor: str | None, limit: int
) -> list[BookingRecord]:
    """A citizen's bookings, newest first, `limit + 1` of them after the cursor."""
    query = pagination.keyset(
        select(*COLUMNS).where(bookings.c.citizen_id == citizen_id),
        order_by=[bookings.c.created_at, bookings.c.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return [BookingRecord.model_validate(row._mapping) for row in await connection.execute(query)]


async def of_agency_day(
    connection: AsyncConnection, agency: str, day: dt.date, counter: str | None
) -> list[BookingRecord]:
    """An agency's bookings of one day (one counter's when given), by time then counter."""
    query = select(*COLUMNS).where(bookings.c.agency == agency, bookings.c.date == day)
    if counter:
        query = query.where(bookings.c.counter == counter)
    query = query.order_by(bookings.c.starts_at, bookings.c.counter, bookings.c.ticket_code)
    return [BookingRecord.model_validate(row._mapping) for row in await connection.execute(query)]


async def take_seat(
    connection: AsyncConnection, *, day_key: str, slot: str, seat: int, booking_id: str
) -> bool:
    """Take one seat of a slot for a booking; False when someone holds it."""
    taken = await connection.execute(
        pg_insert(booking_seats)
        .values(day_key=day_key, slot=slot, seat=seat, booking_id=booking_id)
        .on_conflict_do_nothing()
        .returning(booking_seats.c.seat)
    )
    return taken.first() is not None


async def taken_seats(connection: AsyncConnection, day_keys: list[str]) -> Counter[tuple[str, str]]:
    """How many seats are held in each slot of those days: `(day key, HHMM) -> count`."""
    if not day_keys:
        return Counter()
    found = await connection.execute(
        select(booking_seats.c.day_key, booking_seats.c.slot, func.count())
        .where(booking_seats.c.day_key.in_(day_keys))
        .group_by(booking_seats.c.day_key, booking_seats.c.slot)
    )
    return Counter({(day_key, slot): count for day_key, slot, count in found.all()})
