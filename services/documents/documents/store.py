"""Every query of the documents service's database.

`documents` (citizens' uploads, an aggregate with its outbox), `outputs` (issued outputs, with
their outbox), `document_access` (one line per access, never changed), `output_codes` (a
verification code to its output), and read models from other services' events: `requirement_limits`
and `names` (services, agencies, citizens: what an output prints).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency, outbox
from mpp_shared.events import Event
from mpp_shared.outbox import VersionConflict

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

DOCUMENTS = "documents"
OUTPUTS = "outputs"
ACCESS = "document_access"
CODES = "output_codes"
LIMITS = "requirement_limits"
NAMES = "names"
# Decisions whose output waits for a name (service, citizen) whose event has not arrived yet.
WAITING = "outputs_waiting"
OUTBOX_COLLECTIONS = [DOCUMENTS, OUTPUTS]
INDEXES = {
    DOCUMENTS: [
        IndexModel([("owner", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("attached", ASCENDING), ("created_at", ASCENDING)]),
    ],
    ACCESS: [IndexModel([("document_id", ASCENDING), ("at", ASCENDING)])],
}
HIDDEN = {"outbox": 0, "outbox_pending": 0}


async def find(db: Db, document_id: str) -> Document | None:
    """A document's metadata by id."""
    return await db[DOCUMENTS].find_one({"_id": document_id}, HIDDEN)


async def insert(db: Db, document: Document, new_events: list[Event]) -> bool:
    """A new document with its events; False when its id exists (a retried request)."""
    return await idempotency.insert_once(db[DOCUMENTS], outbox.new_document(document, new_events))


async def change(
    db: Db, *, document_id: str, expected_version: int, fields: Document, new_events: list[Event]
) -> Document:
    """Change a document still at `expected_version` (else VersionConflict)."""
    updated = await db[DOCUMENTS].find_one_and_update(
        {"_id": document_id, "version": expected_version},
        outbox.change(fields, new_events),
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise VersionConflict(document_id)
    for hidden in HIDDEN:
        updated.pop(hidden, None)
    return updated


async def of_owner(db: Db, owner: str, *, before: str | None, limit: int) -> list[Document]:
    """A citizen's documents that are not deleted, newest first, `limit + 1` of them."""
    query: Document = {"owner": owner, "status": {"$ne": "deleted"}}
    if before:
        query["_id"] = {"$lt": before}
    cursor = db[DOCUMENTS].find(query, HIDDEN).sort("_id", DESCENDING).limit(limit + 1)
    return [d async for d in cursor]


async def unattached_before(db: Db, moment: datetime) -> list[Document]:
    """Documents never attached to an application, uploaded before `moment`."""
    cursor = db[DOCUMENTS].find(
        {"attached": False, "status": {"$in": ["pending", "available", "rejected"]}}
        | {"created_at": {"$lt": moment}},
        HIDDEN,
    )
    return [d async for d in cursor]


async def log_access(db: Db, entry: Document) -> None:
    """One line of the access log."""
    await db[ACCESS].insert_one(entry)


async def access_log(db: Db, document_id: str) -> list[Document]:
    """Every access to a document, oldest first."""
    cursor = db[ACCESS].find({"document_id": document_id}).sort("at", ASCENDING)
    return [d async for d in cursor]


# --- issued outputs -----------------------------------------------------------------------------


async def output(db: Db, output_id: str) -> Document | None:
    """An issued output by id."""
    return await db[OUTPUTS].find_one({"_id": output_id}, HIDDEN)


async def output_by_code(db: Db, code: str) -> Document | None:
    """The output a verification code names."""
    found = await db[CODES].find_one({"_id": code})
    return await output(db, found["output_id"]) if found else None


async def insert_output(db: Db, document: Document, new_events: list[Event]) -> bool:
    """A newly issued output and its code; False when this application's output exists."""
    if not await idempotency.insert_once(db[OUTPUTS], outbox.new_document(document, new_events)):
        return False
    await db[CODES].insert_one({"_id": document["verification_code"], "output_id": document["_id"]})
    return True


async def change_output(
    db: Db, *, output_id: str, expected_version: int, fields: Document, new_events: list[Event]
) -> Document:
    """Change an output still at `expected_version` (else VersionConflict)."""
    return await outbox.apply_change(
        db[OUTPUTS],
        id=output_id,
        expected_version=expected_version,
        set_fields=fields,
        new_events=new_events,
    )


async def count_pin_failure(db: Db, output_id: str) -> Document | None:
    """Count a wrong PIN; the output after it."""
    return await db[OUTPUTS].find_one_and_update(
        {"_id": output_id}, {"$inc": {"pin_failures": 1}}, return_document=ReturnDocument.AFTER
    )


# --- read models of other services' facts -------------------------------------------------------


async def limits(db: Db, service: str, requirement: str) -> Document | None:
    """The size and format limits of one requirement of a service (by slug or id)."""
    return await db[LIMITS].find_one({"_id": f"{service}:{requirement}"})


async def name(db: Db, kind: str, key: str) -> Document | None:
    """A service's, agency's or citizen's name as last announced."""
    return await db[NAMES].find_one({"_id": f"{kind}:{key}"})


async def wait_for_names(
    db: Db, application_id: str, event_type: str, data: dict[str, Any]
) -> None:
    """Keep a decision until the names its output needs have arrived."""
    await db[WAITING].replace_one(
        {"_id": application_id}, {"type": event_type, "data": data}, upsert=True
    )


async def waiting(db: Db) -> list[Document]:
    """Decisions still waiting for names (a handful at most: names arrive within seconds)."""
    return await db[WAITING].find({}).to_list(None)


async def done_waiting(db: Db, application_id: str) -> None:
    await db[WAITING].delete_one({"_id": application_id})
