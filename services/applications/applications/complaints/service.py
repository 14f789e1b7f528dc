"""The complaint rules and their SP4N-LAPOR! clocks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from applications.workdays import WorkingCalendar


async def check_clocks(
    db: AsyncDatabase[dict[str, Any]], *, calendar: WorkingCalendar, now: dt.datetime
) -> int:
    """Act on the complaint clocks that ran out by `now`; returns how many complaints changed."""
    return 0
