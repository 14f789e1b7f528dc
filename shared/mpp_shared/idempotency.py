"""Helpers that make an event's effect happen once however often the event arrives.

Pick the one that fits the document the effect touches:
- a new document whose `_id` is derived from the event id: `insert_once` (duplicate key = done);
- an update of an existing document: filter with `not_applied(event.id)` and add
  `mark_applied(event.id)` to the update, so a second delivery matches nothing;
- or a version check on the document.
"""

from __future__ import annotations

import uuid
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

APPLIED = "applied_events"
_NAMESPACE = uuid.UUID("0b8a9f0c-58c4-4d7e-9a55-6f1c2f5b7e10")


def derived_id(event_id: str, purpose: str) -> str:
    """A deterministic id for the document an event creates for one purpose."""
    return str(uuid.uuid5(_NAMESPACE, f"{purpose}:{event_id}"))


async def insert_once(
    collection: AsyncCollection[dict[str, Any]], document: dict[str, Any]
) -> bool:
    """Insert unless a document with the same `_id` exists; True when this call inserted it."""
    try:
        await collection.insert_one(document)
    except DuplicateKeyError:
        return False
    return True


def not_applied(event_id: str) -> dict[str, Any]:
    """A filter clause matching documents this event has not changed yet."""
    return {APPLIED: {"$ne": event_id}}


def mark_applied(event_id: str) -> dict[str, Any]:
    """An update clause recording that this event changed the document."""
    return {"$addToSet": {APPLIED: event_id}}
