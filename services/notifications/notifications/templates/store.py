"""Every query of templates: the current version of each, and every version ever saved.

The current template's `_id` is `<event type>:<channel>:<language>` and a version's
`<event type>:<channel>:<language>:<version>`, so every hot look-up is an exact `_id` match (the
one filter FerretDB 1 answers from an index). Inserting a version is the lock of a save: its `_id`
is unique, so of two saves from the same version exactly one gets the next number.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency

Db = AsyncDatabase[dict[str, Any]]
Document = dict[str, Any]

TEMPLATES = "templates"
VERSIONS = "template_versions"


def template_id(event_type: str, channel: str, language: str) -> str:
    """The `_id` of the current template of an event type on a channel in a language."""
    return f"{event_type}:{channel}:{language}"


def version_id(template: str, version: int) -> str:
    """The `_id` of one version of a template."""
    return f"{template}:{version}"


async def find(db: Db, template: str) -> Document | None:
    """The current version of a template, or None."""
    return await db[TEMPLATES].find_one({"_id": template})


async def find_version(db: Db, template: str, version: int) -> Document | None:
    """One version of a template, or None."""
    return await db[VERSIONS].find_one({"_id": version_id(template, version)})


async def list_current(
    db: Db, *, event_type: str | None = None, channel: str | None = None
) -> list[Document]:
    """The current templates, by id; a few hundred at most, so a scan is cheap."""
    query: Document = {}
    if event_type is not None:
        query["event_type"] = event_type
    if channel is not None:
        query["channel"] = channel
    return await db[TEMPLATES].find(query).sort("_id", ASCENDING).to_list(None)


async def list_versions(db: Db, template: str, *, newest: int, limit: int) -> list[Document]:
    """Up to `limit` versions from `newest` down, newest first."""
    ids = [version_id(template, v) for v in range(newest, max(0, newest - limit), -1)]
    found = await db[VERSIONS].find({"_id": {"$in": ids}}).to_list(None)
    return sorted(found, key=lambda d: int(d["version"]), reverse=True)


async def insert_version(db: Db, document: Document) -> bool:
    """Claim a version number with its content; False when another save took it first."""
    return await idempotency.insert_once(db[VERSIONS], document)


async def advance(db: Db, document: Document) -> bool:
    """Make a saved version current unless a later one already is; True when it became current."""
    current = {k: v for k, v in document.items() if k != "_id"} | {"_id": document["template_id"]}
    if document["version"] == 1:
        return await idempotency.insert_once(db[TEMPLATES], current)
    result = await db[TEMPLATES].replace_one(
        {"_id": current["_id"], "version": {"$lt": document["version"]}}, current
    )
    return result.modified_count == 1
