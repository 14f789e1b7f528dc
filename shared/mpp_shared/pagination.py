"""Lists: `?limit=` (default 20, max 100), an opaque `?cursor=`; answers `{items, next_cursor}`.

Keyset pagination: a list is ordered by a sort key that ends in the row's id, so the order is
total; the cursor holds the last item's key, and the next page starts strictly after it. Pages
stay correct while rows are added and cost the same however deep the reader goes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, tuple_

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


def page(items: list[Item], *, limit: int, key: Callable[[Item], str]) -> Page[Item]:
    """A page from `limit + 1` fetched items: the extra one only tells that more follow."""
    shown = items[:limit]
    more = len(items) > limit and bool(shown)
    return Page[Item](items=shown, next_cursor=encode_cursor(key(shown[-1])) if more else None)


# --- keyset pagination over SQL ----------------------------------------------------------------

Statement = TypeVar("Statement", bound=Select[Any])


def keyset(
    query: Statement,
    *,
    order_by: Sequence[ColumnElement[Any]],
    cursor: str | None,
    limit: int,
    descending: bool = False,
) -> Statement:
    """`query` in `order_by` order (ending in a unique column), after the cursor, `limit + 1`
    rows: the extra one only tells that more follow. A cursor that does not fit is a 400."""
    if cursor is not None:
        values = _decode_key(cursor, order_by)
        position = tuple_(*order_by)
        query = query.where(
            position < tuple_(*values) if descending else position > tuple_(*values)
        )
    ordering = [c.desc() if descending else c.asc() for c in order_by]
    return query.order_by(*ordering).limit(limit + 1)


def keyset_page(
    items: list[Item], *, limit: int, key: Callable[[Item], Sequence[Any]]
) -> Page[Item]:
    """A page from the `limit + 1` items `keyset` fetched; `key` is an item's `order_by` values."""
    shown = items[:limit]
    more = len(items) > limit and bool(shown)
    return Page[Item](items=shown, next_cursor=encode_key(key(shown[-1])) if more else None)


def encode_key(values: Sequence[Any]) -> str:
    """An opaque cursor holding a sort key."""
    plain = [v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for v in values]
    text = json.dumps(plain, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_key(cursor: str, columns: Sequence[ColumnElement[Any]]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("wrong length")
        return [_coerce(value, column) for value, column in zip(values, columns, strict=True)]
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, NotImplementedError):
        raise invalid_cursor() from None


def _coerce(value: Any, column: ColumnElement[Any]) -> Any:
    kind = column.type.python_type
    if kind is dt.datetime:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    if kind is int and not isinstance(value, bool):
        return int(value)
    if kind is str and isinstance(value, str):
        return value
    raise ValueError(f"{value!r} does not fit {kind}")
