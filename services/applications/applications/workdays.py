"""Working days: Monday to Friday except Indonesia's national holidays (the `holidays` package),
in the mall's local time. Every SLA and complaint clock counts in these."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


class WorkingCalendar:
    """Counts working days in one time zone."""

    def __init__(self, timezone: str = "Asia/Makassar") -> None:
        self.zone = ZoneInfo(timezone)

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The local calendar date of an instant."""
        return moment.astimezone(self.zone).date()

    def learn_holidays(self) -> None:
        """Work out this year's and next year's holidays now (each takes a while once)."""
        this_year = dt.datetime.now(self.zone).year
        for year in (this_year, this_year + 1):
            _holidays(year)

    def is_working_day(self, day: dt.date) -> bool:
        """Monday to Friday and not a national holiday."""
        return day.weekday() < 5 and day not in _holidays(day.year)

    def add(self, start: dt.datetime, days: int) -> dt.datetime:
        """The deadline `days` working days after `start`: the end (23:59:59 local) of the
        `days`-th working day after the start's date. Zero days: the end of the start's day (or
        of the next working day when the start is not on one)."""
        day = self.local_date(start)
        if days == 0:
            while not self.is_working_day(day):
                day += dt.timedelta(days=1)
        counted = 0
        while counted < days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        end = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=self.zone)
        return end.astimezone(dt.UTC)

    def between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working days after `start`'s date, up to and including `end`'s (0 if end <= start)."""
        first, last = self.local_date(start), self.local_date(end)
        count = 0
        day = first + dt.timedelta(days=1)
        while day <= last:
            if self.is_working_day(day):
                count += 1
            day += dt.timedelta(days=1)
        return count


@lru_cache(maxsize=16)
def _holidays(year: int) -> frozenset[dt.date]:
    """The year's national holidays as plain dates: `in` on the package's own mapping converts
    and checks its argument each time, and every list row asks."""
    return frozenset(holidays.country_holidays("ID", years=year).keys())
