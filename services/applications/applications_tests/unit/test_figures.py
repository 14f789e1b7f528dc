"""The command center's summary is counted once per interval, however many screens ask."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from applications import service
from applications.workdays import WorkingCalendar


async def test_concurrent_askers_share_one_count_until_it_is_too_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counted: list[dt.datetime] = []

    async def count(engine: Any, *, calendar: WorkingCalendar, now: dt.datetime) -> Any:
        counted.append(now)
        await asyncio.sleep(0.05)  # a count takes a while: the others wait for it
        return [], {"submitted": len(counted)}

    monkeypatch.setattr(service, "summary", count)
    figures = service.Figures(max_age=0.2)
    calendar = WorkingCalendar()

    answers = await asyncio.gather(*(figures.get(None, calendar=calendar) for _ in range(20)))
    assert len(counted) == 1
    assert {a[2]["submitted"] for a in answers} == {1}
    assert all(at == counted[0] for at, _, _ in answers)  # `at` is when it was counted

    await asyncio.sleep(0.25)
    at, _, by_state = await figures.get(None, calendar=calendar)
    assert len(counted) == 2 and by_state == {"submitted": 2} and at == counted[1]
