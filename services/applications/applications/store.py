"""Every query of the applications collection (the aggregate with its outbox and history).

FerretDB 1 answers only `{_id: ...}` from an index; the lists (a citizen's applications, an
agency's inbox, the clock check) scan the collection, which is what `make bench` watches.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency, outbox
from mpp_shared.events import Event
from mpp_shared.outbox import VersionConflict

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

APPLICATIONS = "applications"
INDEXES = {
    APPLICATIONS: [
        IndexModel([("citizen_id", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("agency", ASCENDING), ("open", ASCENDING), ("due_at", ASCENDING)]),
        IndexModel([("open", ASCENDING)]),
    ]
}
HIDDEN = {"outbox": 0, "outbox_pending": 0}


async def find(db: Db, application_id: str) -> Document | None:
    """An application by id (with its history), or None."""
    return await db[APPLICATIONS].find_one({"_id": application_id}, HIDDEN)


async def insert(db: Db, document: Document, new_events: list[Event]) -> bool:
    """A new application with its events; False when its id (from the idempotency key) exists."""
    return await idempotency.insert_once(
        db[APPLICATIONS], outbox.new_document(document, new_events)
    )


async def update(
    db: Db,
    *,
    application_id: str,
    expected_version: int,
    fields: Document,
    new_events: list[Event],
    history: Document | None = None,
) -> Document:
    """Change an application still at `expected_version`, appending a history line; else
    VersionConflict (another action won)."""
    extra = {"$push": {"history": history}} if history else None
    updated = await db[APPLICATIONS].find_one_and_update(
        {"_id": application_id, "version": expected_version},
        outbox.change(fields, new_events, extra=extra),
        return_document=ReturnDocument.AFTER,
    )  # FerretDB 1's findAndModify takes no projection
    if updated is None:
        raise VersionConflict(application_id)
    for hidden in HIDDEN:
        updated.pop(hidden, None)
    return updated


async def of_citizen(db: Db, citizen_id: str, *, before: str | None, limit: int) -> list[Document]:
    """A citizen's applications, newest first, `limit + 1` of them."""
    query: Document = {"citizen_id": citizen_id}
    if before:
        query["_id"] = {"$lt": before}
    cursor = db[APPLICATIONS].find(query, HIDDEN).sort("_id", DESCENDING).limit(limit + 1)
    return [d async for d in cursor]


async def open_of_agency(db: Db, agency: str | None) -> list[Document]:
    """Every open application of an agency (all agencies when None), soonest due first."""
    query: Document = {"open": True} | ({"agency": agency} if agency else {})
    cursor = db[APPLICATIONS].find(query, {**HIDDEN, "history": 0, "form": 0})
    found = [d async for d in cursor]
    return sorted(found, key=lambda d: (d.get("due_at") is None, d.get("due_at"), d["_id"]))


async def open_applications(db: Db) -> list[Document]:
    """Every open application, for the clock check."""
    cursor = db[APPLICATIONS].find({"open": True}, {**HIDDEN, "history": 0, "form": 0})
    return [d async for d in cursor]


async def all_for_summary(db: Db, *, since: Any) -> list[Document]:
    """Applications open now or submitted since `since`: what the command center counts."""
    cursor = db[APPLICATIONS].find(
        {"$or": [{"open": True}, {"submitted_at": {"$gte": since}}]},
        {"_id": 1, "agency": 1, "state": 1, "open": 1, "due_at": 1, "submitted_at": 1}
        | {"breached": 1, "completed_at": 1, "overall_due_at": 1},
    )
    return [d async for d in cursor]
