"""Every query of surveys: one document per rated application, keyed by the application's id.

The index figures are computed from the scores of the surveys selected; on FerretDB 1 that
selection scans the collection (a regency's mall gathers thousands a year, not millions).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency, outbox
from mpp_shared.events import Event

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

SURVEYS = "surveys"
INDEXES: dict[str, list[IndexModel]] = {
    SURVEYS: [
        IndexModel([("service_id", ASCENDING), ("submitted_at", ASCENDING)]),
        IndexModel([("agency", ASCENDING), ("submitted_at", ASCENDING)]),
    ]
}
OUTBOX_COLLECTIONS: list[str] = [SURVEYS]
HIDDEN = {outbox.OUTBOX: 0, outbox.PENDING: 0}


async def insert(db: Db, survey: Document, new_events: list[Event]) -> bool:
    """A new survey with its events; False when the application was already rated."""
    return await idempotency.insert_once(db[SURVEYS], outbox.new_document(survey, new_events))


async def find(db: Db, application_id: str) -> Document | None:
    """The survey of an application, or None."""
    return await db[SURVEYS].find_one({"_id": application_id}, HIDDEN)


async def scores(
    db: Db,
    *,
    service: str | None = None,
    agency: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Document]:
    """The scores, service and agency of the surveys selected (a service by id or slug)."""
    query: Document = {}
    if service:
        query["$or"] = [{"service_id": service}, {"service_slug": service}]
    if agency:
        query["agency"] = agency
    submitted: Document = {}
    if since:
        submitted["$gte"] = since
    if until:
        submitted["$lt"] = until
    if submitted:
        query["submitted_at"] = submitted
    cursor = db[SURVEYS].find(query, {"scores": 1, "service_id": 1, "service_slug": 1, "agency": 1})
    return [d async for d in cursor]
