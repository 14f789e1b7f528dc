"""Human-friendly numbers: `SNJ-DUKCAPIL-20260108-000123` for applications,
`ADU-SNJ-20260108-000007` for complaints. Unique, and sortable by date and agency, from one
counter per prefix and day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

COUNTERS = "number_counters"


async def next_number(db: AsyncDatabase[dict[str, Any]], *, prefix: str, day: dt.date) -> str:
    """The next number of the day under `prefix`: `<prefix>-<YYYYMMDD>-<six digits>`."""
    stamp = day.strftime("%Y%m%d")
    counter = await db[COUNTERS].find_one_and_update(
        {"_id": f"{prefix}-{stamp}"},
        {"$inc": {"last": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert counter is not None  # upserted
    return f"{prefix}-{stamp}-{counter['last']:06d}"
