"""Keyset pages over the real PostgreSQL: every row once, in order, and a 400 for a cursor the
list did not hand out."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Column, DateTime, Integer, Table, Text, insert, select

from mpp_shared import db, pagination
from mpp_shared.problems import Problem

from .conftest import Probe

metadata = db.metadata()
letters = Table(
    "letters",
    metadata,
    Column("id", Text, primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("sequence", Integer, nullable=False),
)


async def test_keyset_pages_visit_every_row_once_even_with_equal_sort_keys(probe: Probe) -> None:
    engine = probe.engine
    async with db.transaction(engine) as connection:
        await connection.run_sync(metadata.create_all)
    base = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
    rows = [
        {"id": f"l{n:03d}", "sent_at": base + dt.timedelta(minutes=n // 4), "sequence": n}
        for n in range(53)
    ]
    async with db.transaction(engine) as connection:
        await connection.execute(insert(letters), rows)

    async def visit(*, descending: bool) -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            query = pagination.keyset(
                select(letters),
                order_by=[letters.c.sent_at, letters.c.id],
                cursor=cursor,
                limit=10,
                descending=descending,
            )
            async with engine.connect() as connection:
                found = (await connection.execute(query)).all()
            page = pagination.keyset_page(found, limit=10, key=lambda r: (r.sent_at, r.id))
            seen += [row.id for row in page.items]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    ascending = await visit(descending=False)
    assert ascending == [r["id"] for r in rows]
    assert await visit(descending=True) == list(reversed(ascending))


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "bm90IGpzb24",  # "not json"
        pagination.encode_key(["2026-01-05T08:00:00"]),  # one value for two columns
        pagination.encode_key(["2026-01-05T08:00:00", 7]),  # a number for a text id
        pagination.encode_key(["2026-01-05T08:00:00", "l001"]),  # a time without its zone
        pagination.encode_key([{"$gt": ""}, "l001"]),
    ],
)
def test_a_cursor_the_list_did_not_hand_out_is_a_400(cursor: str) -> None:
    with pytest.raises(Problem) as raised:
        pagination.keyset(
            select(letters),
            order_by=[letters.c.sent_at, letters.c.id],
            cursor=cursor,
            limit=10,
        )
    assert raised.value.status == 400
    assert json.loads(json.dumps(raised.value.detail))  # a plain, serialisable detail
