"""Human-friendly numbers: `SNJ-DUKCAPIL-20260108-000123` for applications,
`ADU-SNJ-20260108-000007` for complaints. Unique, and sortable by date and agency, from one
counter per prefix and day.

A number is taken in the transaction that records what it numbers: the counter's row stays
locked until that transaction ends, and a transaction that rolls back (a retry that lost to the
first request with its key, a refused filing) gives its number back. So numbers have no gaps and
never name nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Integer, Table, Text, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from applications.store import metadata

number_counters = Table(
    "number_counters",
    metadata,
    Column("series", Text, primary_key=True),  # `<prefix>-<YYYYMMDD>`
    Column("last", Integer, nullable=False),
)


# Built once (SQLAlchemy works out a statement's cache key once per statement object): one
# statement per number taken cost as much CPU as running it.
_TAKE = (
    pg_insert(number_counters)
    .values(series=bindparam("series"), last=1)
    .on_conflict_do_update(
        index_elements=[number_counters.c.series],
        set_={"last": number_counters.c.last + 1},
    )
    .returning(number_counters.c.last)
)


async def next_number(connection: AsyncConnection, *, prefix: str, day: dt.date) -> str:
    """The next number of the day under `prefix`: `<prefix>-<YYYYMMDD>-<six digits>`."""
    series = f"{prefix}-{day:%Y%m%d}"
    taken = await connection.execute(_TAKE, {"series": series})
    return f"{series}-{taken.scalar_one():06d}"
