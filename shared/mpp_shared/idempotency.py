"""Helpers that make an effect happen once: an event's however often it arrives, and a command's
however often the client retries it with the same `Idempotency-Key`.

Pick the one that fits the document the effect touches:
- a new document whose `_id` is derived from the event id: `insert_once` (duplicate key = done);
- an update of an existing document: filter with `not_applied(event.id)` and add
  `mark_applied(event.id)` to the update, so a second delivery matches nothing;
- or a version check on the document.

A creating command does the same with its key: the new document's `_id` is
`command_id(scope=..., key=...)` and it stores `fingerprint(request)`; when `insert_once` finds the
document already there, `check_replay` tells a retry (answer with that document) from a
different request that reused the key (a 422 problem).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from mpp_shared.ids import new_id
from mpp_shared.problems import Problem

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


# --- Idempotent commands: `Idempotency-Key` on every POST that creates -------------------------

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="Chosen by the client; a retry with the same key returns the first result",
    ),
]
FINGERPRINT = "request_fingerprint"


def fingerprint(request: BaseModel | Mapping[str, Any]) -> str:
    """A digest of a command's content, to tell a retry from a different request under one key."""
    content = request.model_dump(mode="json") if isinstance(request, BaseModel) else dict(request)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def command_id(*, scope: str, key: str | None) -> str:
    """The id of what a command creates: derived from its key, so a retry finds the first result.

    `scope` is who asks and what (e.g. `citizen:<id>:applications`), so two callers' keys never
    collide. Without a key every call creates anew.
    """
    if key is None:
        return new_id()
    return str(uuid.uuid5(_NAMESPACE, f"command:{scope}:{key}"))


def check_replay(existing: Mapping[str, Any], request_fingerprint: str) -> None:
    """Refuse a key reused for a different request; a true retry passes."""
    if existing.get(FINGERPRINT) != request_fingerprint:
        raise Problem(
            422,
            "idempotency-key-reused",
            title={"id": "Idempotency-Key sudah dipakai", "en": "Idempotency-Key already used"},
            detail={
                "id": "Kunci ini sudah dipakai untuk permintaan lain. Gunakan kunci baru.",
                "en": "This key was used for a different request. Use a new key.",
            },
        )
