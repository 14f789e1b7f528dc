"""Every query of bookings: the booking documents (with their outbox) and the locks that keep
slots from being overbooked.

A lock is a document whose `_id` names what it holds: a seat of a slot, a citizen's day for a
service, a ticket code. Inserting it is the one operation every store makes atomic (a duplicate
`_id` fails), so among concurrent takers exactly one wins, and deleting it frees the place.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mpp_shared import idempotency, outbox
from mpp_shared.events import Event
from mpp_shared.outbox import VersionConflict

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

BOOKINGS = "bookings"
SEATS = "booking_seats"  # one per booked seat: `<day key>:<HHMM>:<seat number>`
CITIZEN_DAYS = "booking_citizen_days"  # one per active booking: `<citizen>:<service>:<date>`
TICKETS = "booking_tickets"  # every ticket code ever handed out, so none repeats

INDEXES: dict[str, list[IndexModel]] = {
    BOOKINGS: [
        IndexModel([("citizen_id", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("agency", ASCENDING), ("date", ASCENDING)]),
    ],
    SEATS: [IndexModel([("day", ASCENDING)])],
}
OUTBOX_COLLECTIONS: list[str] = [BOOKINGS]
HIDDEN = {"outbox": 0, "outbox_pending": 0}


async def find(db: Db, booking_id: str) -> Document | None:
    """A booking by id, or None."""
    return await db[BOOKINGS].find_one({"_id": booking_id}, HIDDEN)


async def insert(db: Db, document: Document, new_events: list[Event]) -> bool:
    """A new booking with its events; False when its id (from the idempotency key) exists."""
    return await idempotency.insert_once(db[BOOKINGS], outbox.new_document(document, new_events))


async def update(
    db: Db, *, booking_id: str, expected_version: int, fields: Document, new_events: list[Event]
) -> Document:
    """Change a booking still at `expected_version`; else VersionConflict."""
    # No projection: FerretDB 1 refuses one on findAndModify.
    updated = await outbox.apply_change(
        db[BOOKINGS],
        id=booking_id,
        expected_version=expected_version,
        set_fields=fields,
        new_events=new_events,
    )
    return {k: v for k, v in updated.items() if k not in HIDDEN}


async def of_citizen(
    db: Db, citizen_id: str, *, before: tuple[dt.datetime, str] | None, limit: int
) -> list[Document]:
    """A citizen's bookings, newest first, `limit + 1` of them, after the cursor's position."""
    query: Document = {"citizen_id": citizen_id}
    if before:
        at, last_id = before
        query["$or"] = [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": last_id}}]
    cursor = (
        db[BOOKINGS]
        .find(query, HIDDEN)
        .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        .limit(limit + 1)
    )
    return [d async for d in cursor]


async def of_agency_day(db: Db, agency: str, day: dt.date, counter: str | None) -> list[Document]:
    """An agency's bookings of one day (one counter's when given), by time then counter."""
    query: Document = {"agency": agency, "date": day.isoformat()}
    if counter:
        query["counter"] = counter
    found = [d async for d in db[BOOKINGS].find(query, HIDDEN)]
    return sorted(found, key=lambda d: (d["starts_at"], d["counter"], d["ticket_code"]))


async def taken_seats(db: Db, day_keys: list[str]) -> Counter[tuple[str, str]]:
    """How many seats are held in each slot of those days: `(day key, HHMM) -> count`."""
    if not day_keys:
        return Counter()
    cursor = db[SEATS].find({"day": {"$in": day_keys}}, {"day": 1, "slot": 1})
    return Counter([(d["day"], d["slot"]) async for d in cursor])


async def lock(db: Db, collection: str, document: Document) -> bool:
    """Take the lock `document["_id"]`; False when someone holds it."""
    try:
        await db[collection].insert_one(document)
    except DuplicateKeyError:
        return False
    return True


async def holder(db: Db, collection: str, lock_id: str) -> Document | None:
    """Who holds a lock, or None when it is free."""
    return await db[collection].find_one({"_id": lock_id})


async def release(db: Db, collection: str, lock_id: str, booking_id: str) -> None:
    """Free a lock if that booking still holds it (a late retry never frees another's seat)."""
    await db[collection].delete_one({"_id": lock_id, "booking_id": booking_id})


__all__ = ["VersionConflict"]
