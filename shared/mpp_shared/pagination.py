"""Lists: `?limit=` (default 20, max 100), an opaque `?cursor=`; answers `{items, next_cursor}`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from mpp_shared.problems import Problem

Item = TypeVar("Item")

Limit = Annotated[int, Query(ge=1, le=100, description="How many items to return (1-100)")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


class Page(BaseModel, Generic[Item]):
    """One page of a list."""

    items: list[Item]
    next_cursor: str | None


def encode_cursor(last_id: str) -> str:
    """An opaque cursor that resumes after `last_id`."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The id a cursor resumes after; a malformed cursor is a 400 problem."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_cursor() from None


def invalid_cursor() -> Problem:
    """The 400 problem for a cursor this list did not hand out."""
    return Problem(
        400,
        "bad-request",
        detail={"id": "Parameter cursor tidak valid.", "en": "The cursor parameter is not valid."},
    )


def after(cursor: str | None) -> dict[str, Any]:
    """A filter clause for documents after the cursor, in `_id` order."""
    last_id = decode_cursor(cursor)
    return {"_id": {"$gt": last_id}} if last_id is not None else {}


def page(items: list[Item], *, limit: int, key: Callable[[Item], str]) -> Page[Item]:
    """A page from `limit + 1` fetched items: the extra one only tells that more follow."""
    shown = items[:limit]
    more = len(items) > limit and bool(shown)
    return Page[Item](items=shown, next_cursor=encode_cursor(key(shown[-1])) if more else None)
