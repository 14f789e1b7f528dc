"""Idempotent commands: a creating command retried with the same `Idempotency-Key` returns the
first result.

The new row's id is `command_id(scope=..., key=...)` and it stores `fingerprint(request)`; the
primary key makes a second insert a no-op (`INSERT ... ON CONFLICT DO NOTHING`), and
`check_replay` tells a retry (answer with the first result) from a different request that reused
the key (a 422 problem). Events are applied once by the inbox (`mpp_shared.inbox`); `derived_id`
names a row an event creates, where one event creates several.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel

from mpp_shared.ids import new_id
from mpp_shared.problems import Problem

_NAMESPACE = uuid.UUID("0b8a9f0c-58c4-4d7e-9a55-6f1c2f5b7e10")


def derived_id(event_id: str, purpose: str) -> str:
    """A deterministic id for the row an event creates for one purpose."""
    return str(uuid.uuid5(_NAMESPACE, f"{purpose}:{event_id}"))


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


def check_replay(stored_fingerprint: str | None, request_fingerprint: str) -> None:
    """Refuse a key reused for a different request (its stored fingerprint differs); a true
    retry passes."""
    if stored_fingerprint != request_fingerprint:
        raise Problem(
            422,
            "idempotency-key-reused",
            title={"id": "Idempotency-Key sudah dipakai", "en": "Idempotency-Key already used"},
            detail={
                "id": "Kunci ini sudah dipakai untuk permintaan lain. Gunakan kunci baru.",
                "en": "This key was used for a different request. Use a new key.",
            },
        )
