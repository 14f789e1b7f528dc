"""Working days in Sinjai's time: weekends and national holidays do not count."""

from __future__ import annotations

import datetime as dt

from applications.workdays import WorkingCalendar

WITA = dt.timezone(dt.timedelta(hours=8))
calendar = WorkingCalendar("Asia/Makassar")


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=WITA)


def end_of(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 23, 59, 59, tzinfo=WITA)


def test_weekends_are_skipped() -> None:
    # Thursday 2026-11-26 + 3 working days: Fri 27, Mon 30, Tue 1 Dec.
    assert calendar.add(at(2026, 11, 26), 3) == end_of(2026, 12, 1)


def test_national_holidays_are_skipped() -> None:
    # Friday 2026-08-14 + 1: Monday 17 August is Independence Day, so Tuesday 18.
    assert calendar.add(at(2026, 8, 14), 1) == end_of(2026, 8, 18)
    # Eid al-Fitr 2026 falls on Saturday 21 and Sunday 22 March; Thursday 19 is Nyepi.
    assert calendar.add(at(2026, 3, 18), 1) == end_of(2026, 3, 20)


def test_zero_days_is_the_end_of_the_day_or_of_the_next_working_day() -> None:
    assert calendar.add(at(2026, 11, 27), 0) == end_of(2026, 11, 27)
    assert calendar.add(at(2026, 11, 28), 0) == end_of(2026, 11, 30)


def test_local_dates_follow_wita_not_utc() -> None:
    late_friday_utc = dt.datetime(2026, 11, 27, 17, 0, tzinfo=dt.UTC)  # 01:00 Saturday in Sinjai
    assert calendar.local_date(late_friday_utc) == dt.date(2026, 11, 28)
    assert calendar.add(late_friday_utc, 1) == end_of(2026, 11, 30)


def test_between_counts_working_days_after_the_start() -> None:
    assert calendar.between(at(2026, 11, 27), at(2026, 12, 1)) == 2
    assert calendar.between(at(2026, 12, 1), at(2026, 11, 27)) == 0
    assert calendar.between(at(2026, 8, 14), at(2026, 8, 18)) == 1
