"""Every query of the catalog's database.

Collections: `agencies` and `services` (aggregates with an outbox), `service_versions` (each
published version, immutable, because applications refer to the version they were made under).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency, outbox
from mpp_shared.events import Event

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

AGENCIES = "agencies"
SERVICES = "services"
VERSIONS = "service_versions"
SLUGS = "service_slugs"
OUTBOX_COLLECTIONS = [AGENCIES, SERVICES]
INDEXES = {
    AGENCIES: [IndexModel([("code", ASCENDING)], unique=True)],
    SERVICES: [IndexModel([("status", ASCENDING), ("agency", ASCENDING)])],
    VERSIONS: [IndexModel([("service_id", ASCENDING), ("version", ASCENDING)], unique=True)],
}


# --- agencies ----------------------------------------------------------------------------------


async def find_agency(db: Db, *, code: str) -> Document | None:
    """An agency by its code."""
    return await db[AGENCIES].find_one({"code": code}, {"outbox": 0})


async def list_agencies(
    db: Db, *, after: dict[str, Any], kind: str | None, limit: int
) -> list[Document]:
    """Agencies in id order, `limit + 1` of them so the caller knows if more follow."""
    query = after | ({"kind": kind} if kind else {})
    cursor = db[AGENCIES].find(query, {"outbox": 0}).sort("_id", ASCENDING).limit(limit + 1)
    return [d async for d in cursor]


async def insert_agency(db: Db, document: Document, new_events: list[Event]) -> bool:
    """Insert a new agency with its events; False when its code exists already."""
    return await idempotency.insert_once(db[AGENCIES], outbox.new_document(document, new_events))


async def update_agency(
    db: Db, *, agency_id: str, expected_version: int, fields: Document, new_events: list[Event]
) -> Document:
    """Change an agency if it is still at `expected_version`."""
    return await outbox.apply_change(
        db[AGENCIES],
        id=agency_id,
        expected_version=expected_version,
        set_fields=fields,
        new_events=new_events,
    )


# --- services ----------------------------------------------------------------------------------


async def find_service(db: Db, *, id_or_slug: str) -> Document | None:
    """A service by id or slug, with its draft and current published version.

    Looked up by `_id` only, through the small slug collection: FerretDB 1 answers `_id`
    look-ups from its index but scans and decodes every (large) service document otherwise.
    """
    found = await db[SERVICES].find_one({"_id": id_or_slug}, {"outbox": 0})
    if found is None:
        slug = await db[SLUGS].find_one({"_id": id_or_slug})
        if slug is not None:
            found = await db[SERVICES].find_one({"_id": slug["service_id"]}, {"outbox": 0})
    return found


async def claim_slug(db: Db, *, slug: str, service_id: str) -> bool:
    """Reserve a slug for a service; False when another existing service holds it."""
    if await idempotency.insert_once(db[SLUGS], {"_id": slug, "service_id": service_id}):
        return True
    holder = await db[SLUGS].find_one({"_id": slug})
    if holder is None or holder["service_id"] == service_id:
        return holder is not None
    if await db[SERVICES].find_one({"_id": holder["service_id"]}, {"_id": 1}) is not None:
        return False
    # A slug left by a creation that never finished: take it over, unless someone else just did.
    taken = await db[SLUGS].update_one(
        {"_id": slug, "service_id": holder["service_id"]}, {"$set": {"service_id": service_id}}
    )
    return taken.modified_count == 1


async def list_services(
    db: Db, *, filters: dict[str, Any], after: dict[str, Any], limit: int
) -> list[Document]:
    """Services matching the filters, in id order, `limit + 1` of them (a full scan)."""
    cursor = (
        db[SERVICES].find(filters | after, {"outbox": 0}).sort("_id", ASCENDING).limit(limit + 1)
    )
    return [d async for d in cursor]


async def published_services(db: Db) -> list[Document]:
    """Every published service, for the search index and lists."""
    projection = {"outbox": 0, "draft": 0}
    return [d async for d in db[SERVICES].find({"status": "published"}, projection)]


async def insert_service(db: Db, document: Document) -> bool:
    """Insert a new service; False when its id exists already (a retried command)."""
    return await idempotency.insert_once(db[SERVICES], outbox.new_document(document, []))


async def update_service(
    db: Db, *, service_id: str, expected_version: int, fields: Document, new_events: list[Event]
) -> Document:
    """Change a service if it is still at `expected_version`; raises VersionConflict if not."""
    return await outbox.apply_change(
        db[SERVICES],
        id=service_id,
        expected_version=expected_version,
        set_fields=fields,
        new_events=new_events,
    )


async def save_version(db: Db, document: Document) -> None:
    """Keep a published version; saving it again (a retried publish) changes nothing."""
    await idempotency.insert_once(db[VERSIONS], document)


async def find_version(db: Db, *, service_id: str, version: int) -> Document | None:
    """One published version of a service."""
    return await db[VERSIONS].find_one({"service_id": service_id, "version": version})


async def list_versions(db: Db, *, service_id: str) -> list[Document]:
    """Every published version of a service, oldest first, without their snapshots."""
    cursor = (
        db[VERSIONS].find({"service_id": service_id}, {"snapshot": 0}).sort("version", ASCENDING)
    )
    return [d async for d in cursor]


async def bump_search_generation(db: Db) -> int:
    """Note that the published catalog changed, so every replica rebuilds its search index."""
    meta = await db["catalog_meta"].find_one_and_update(
        {"_id": "search"},
        {"$inc": {"generation": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return int(meta["generation"]) if meta else 0


async def search_generation(db: Db) -> int:
    """The published catalog's current generation."""
    meta = await db["catalog_meta"].find_one({"_id": "search"})
    return int(meta["generation"]) if meta else 0
