"""The application rules: submission, the workflow engine and the SLA clocks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from applications.workdays import WorkingCalendar


async def check_clocks(
    db: AsyncDatabase[dict[str, Any]], *, calendar: WorkingCalendar, now: dt.datetime
) -> int:
    """Raise SLA breaches and auto-complete expired applications; returns how many changed."""
    return 0
