"""Every query of complaints: the aggregate (with its outbox and timeline) and the tracking ids.

FerretDB 1 answers only `{_id: ...}` from an index, so tracking ids have their own collection
keyed by the id; the lists and the clock check scan the complaints.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency, outbox
from mpp_shared.events import Event
from mpp_shared.outbox import VersionConflict

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

COMPLAINTS = "complaints"
TRACKING_IDS = "complaint_tracking_ids"
INDEXES: dict[str, list[IndexModel]] = {
    COMPLAINTS: [
        IndexModel([("citizen_id", ASCENDING)]),
        IndexModel([("agency", ASCENDING), ("open", ASCENDING)]),
        IndexModel([("open", ASCENDING)]),
    ]
}
OUTBOX_COLLECTIONS: list[str] = [COMPLAINTS]
HIDDEN = {outbox.OUTBOX: 0, outbox.PENDING: 0}
LISTED = {**HIDDEN, "timeline": 0, "description": 0}


async def insert(db: Db, complaint: Document, new_events: list[Event]) -> bool:
    """A new complaint with its events; False when its id (from the idempotency key) exists."""
    return await idempotency.insert_once(db[COMPLAINTS], outbox.new_document(complaint, new_events))


async def find(db: Db, complaint_id: str) -> Document | None:
    """A complaint by id, with its timeline, or None."""
    return await db[COMPLAINTS].find_one({"_id": complaint_id}, HIDDEN)


async def update(
    db: Db,
    *,
    complaint_id: str,
    expected_version: int,
    fields: Document,
    new_events: list[Event],
    line: Document,
) -> Document:
    """Change a complaint still at `expected_version`, appending a timeline line; else
    VersionConflict (another action won)."""
    updated = await db[COMPLAINTS].find_one_and_update(
        {"_id": complaint_id, "version": expected_version},
        outbox.change(fields, new_events, extra={"$push": {"timeline": line}}),
        return_document=ReturnDocument.AFTER,
    )  # FerretDB 1's findAndModify takes no projection
    if updated is None:
        raise VersionConflict(complaint_id)
    for hidden in HIDDEN:
        updated.pop(hidden, None)
    return updated


async def listed(db: Db, query: Document) -> list[Document]:
    """The complaints matching `query`, without their timelines and descriptions."""
    return [d async for d in db[COMPLAINTS].find(query, LISTED)]


async def open_complaints(db: Db) -> list[Document]:
    """Every open complaint, for the clock check."""
    return [d async for d in db[COMPLAINTS].find({"open": True}, {**HIDDEN, "timeline": 0})]


async def add_tracking_id(db: Db, tracking_id: str, complaint_id: str) -> None:
    """Remember which complaint a tracking id names."""
    await db[TRACKING_IDS].insert_one({"_id": tracking_id, "complaint_id": complaint_id})


async def by_tracking_id(db: Db, tracking_id: str) -> Document | None:
    """The complaint a tracking id names, or None."""
    found = await db[TRACKING_IDS].find_one({"_id": tracking_id})
    complaint = await find(db, found["complaint_id"]) if found else None
    # A filing that lost an idempotency race left its id pointing at the winner: not a match.
    if complaint is None or complaint["tracking_id"] != tracking_id:
        return None
    return complaint


__all__ = ["VersionConflict"]
