"""Slots from a counter's opening hours: breaks, weekends, national holidays, closing time and the
day's capacity spread over them; the checks a requested slot must pass."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any

import pytest

from applications.bookings.models import BookingInput, Counter
from applications.bookings.service import bookable_day, requested_start
from applications.bookings.slots import day_slots, offers, seat_allocation
from applications.workdays import WorkingCalendar
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.problems import Problem

CALENDAR = WorkingCalendar("Asia/Makassar")
WITA = CALENDAR.zone
TUESDAY = dt.date(2026, 8, 18)
FRIDAY = dt.date(2026, 8, 14)
SATURDAY = dt.date(2026, 8, 15)
INDEPENDENCE_DAY = dt.date(2026, 8, 17)  # a Monday


def counter(slot_minutes: int = 30, daily_capacity: int = 12, **hours: Any) -> Counter:
    """Counter A1 as the catalog publishes it: Monday to Thursday 08:00-15:00 with a lunch break,
    Friday 08:00-11:30, and (to prove the calendar wins) Saturday hours too."""
    week = [
        {"weekday": d, "opens": "08:00:00", "closes": "15:00:00"}
        | {"break_start": "12:00:00", "break_end": "13:00:00"}
        | hours
        for d in (1, 2, 3, 4)
    ]
    week.append({"weekday": 5, "opens": "08:00", "closes": "11:30", "break_start": None})
    week.append({"weekday": 6, "opens": "08:00", "closes": "12:00"})
    return Counter.model_validate(
        {
            "code": "A1",
            "name": {"id": "Loket A1", "en": "Counter A1"},
            "opening_hours": week,
            "services": [
                {
                    "service": "ktp-el",
                    "daily_capacity": daily_capacity,
                    "slot_minutes": slot_minutes,
                }
            ],
        }
    )


def slots_of(found: Counter, day: dt.date) -> list[Any]:
    return day_slots(found, found.services[0], day, calendar=CALENDAR)


def times(found: list[Any]) -> list[str]:
    return [s.starts_at.strftime("%H:%M") for s in found]


def test_slots_run_from_opening_to_closing_in_local_time_skipping_the_break() -> None:
    found = slots_of(counter(), TUESDAY)
    assert times(found) == [
        *("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"),
        *("13:00", "13:30", "14:00", "14:30"),
    ]
    first = found[0]
    assert first.starts_at == datetime(2026, 8, 18, 8, 0, tzinfo=WITA)
    assert first.starts_at.isoformat() == "2026-08-18T08:00:00+08:00"
    assert first.ends_at - first.starts_at == dt.timedelta(minutes=30)
    assert all(not (12 <= s.starts_at.hour < 13) for s in found)
    assert found[-1].ends_at.strftime("%H:%M") == "15:00"


def test_a_slot_that_would_cross_the_break_or_closing_time_is_not_offered() -> None:
    found = slots_of(counter(slot_minutes=25), TUESDAY)
    assert times(found)[7:10] == ["10:55", "11:20", "13:00"]  # 11:45 would end in the break
    assert times(found)[-1] == "14:15"  # 14:40 would end at 15:05, after closing
    assert max(s.ends_at for s in found) <= datetime(2026, 8, 18, 15, 0, tzinfo=WITA)


def test_friday_keeps_its_own_shorter_hours() -> None:
    assert times(slots_of(counter(), FRIDAY)) == [
        "08:00",
        "08:30",
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
    ]


def test_weekends_have_no_slots_even_with_opening_hours() -> None:
    assert slots_of(counter(), SATURDAY) == []
    assert slots_of(counter(), SATURDAY + dt.timedelta(days=1)) == []


def test_an_indonesian_national_holiday_has_no_slots() -> None:
    assert slots_of(counter(), INDEPENDENCE_DAY) == []
    assert slots_of(counter(), INDEPENDENCE_DAY + dt.timedelta(days=1)) != []


def test_capacity_is_spread_evenly_and_the_day_never_exceeds_it() -> None:
    for capacity, count in [(60, 36), (20, 12), (60, 21), (7, 3), (12, 12), (100, 7)]:
        seats = seat_allocation(capacity, count)
        assert len(seats) == count
        assert sum(seats) == capacity
        assert max(seats) == -(-capacity // count)  # each slot holds at most the ceiling
        assert min(seats) == capacity // count


def test_fewer_visits_than_slots_leaves_some_slots_without_seats() -> None:
    found = slots_of(counter(daily_capacity=4), TUESDAY)  # 12 slots, 4 visits
    assert [s.seats for s in found] == [1, 0, 0] * 4
    assert sum(s.seats for s in slots_of(counter(daily_capacity=1), TUESDAY)) == 1


def test_a_day_with_more_visits_than_slots_gives_each_slot_the_floor_or_the_ceiling() -> None:
    found = slots_of(counter(daily_capacity=30), TUESDAY)  # 12 slots
    assert sum(s.seats for s in found) == 30
    assert [s.seats for s in found] == [3, 2] * 6


def test_only_counters_that_handle_the_service_offer_it_and_unreadable_ones_are_skipped() -> None:
    service = ServicePublished.model_construct(service_id="svc-ktp", slug="ktp-el")
    agency = AgencyUpserted.model_construct(
        code="UJI",
        counters=[
            counter().model_dump(mode="json") | {"code": "B2"},
            counter().model_dump(mode="json") | {"code": "A1"},
            {"code": "X", "name": "no hours"},  # malformed: ignored, not a 500
            counter().model_dump(mode="json") | {"code": "C3", "services": []},
        ],
    )
    assert [c.code for c, _ in offers(agency, service)] == ["A1", "B2"]
    assert offers(None, service) == []


def test_the_requested_start_is_local_when_it_has_no_offset() -> None:
    wanted = datetime(2026, 8, 18, 9, 30, tzinfo=WITA)
    naive = BookingInput(service="ktp-el", starts_at=datetime(2026, 8, 18, 9, 30))
    utc = BookingInput(service="ktp-el", starts_at=datetime(2026, 8, 18, 1, 30, tzinfo=dt.UTC))
    split = BookingInput(service="ktp-el", date=TUESDAY, time=dt.time(9, 30))
    for data in (naive, utc, split):
        assert requested_start(data, CALENDAR) == wanted
    with pytest.raises(Problem) as refused:
        requested_start(BookingInput(service="ktp-el", date=TUESDAY), CALENDAR)
    assert refused.value.status == 422


@pytest.mark.parametrize(
    ("day", "hour", "reason"),
    [
        (dt.date(2026, 8, 10), 9, "slot-in-past"),
        (dt.date(2026, 8, 11), 7, "slot-in-past"),  # earlier today
        (SATURDAY, 9, "not-working-day"),
        (INDEPENDENCE_DAY, 9, "not-working-day"),
        (dt.date(2026, 9, 11), 9, "outside-booking-window"),  # 31 days ahead
    ],
)
def test_a_slot_must_be_upcoming_on_a_working_day_within_thirty_days(
    day: dt.date, hour: int, reason: str
) -> None:
    now = datetime(2026, 8, 11, 8, 0, tzinfo=WITA)  # a Tuesday morning
    with pytest.raises(Problem) as refused:
        bookable_day(datetime.combine(day, dt.time(hour), tzinfo=WITA), calendar=CALENDAR, now=now)
    assert refused.value.extensions["reason"] == reason
    last = datetime(2026, 9, 10, 9, tzinfo=WITA)  # the window's last day
    assert bookable_day(last, calendar=CALENDAR, now=now) == dt.date(2026, 9, 10)


def test_a_start_at_the_end_of_time_is_outside_the_window_not_an_error() -> None:
    far = datetime.fromisoformat("9999-12-31T23:59:59-12:00")
    with pytest.raises(Problem) as refused:
        bookable_day(far, calendar=CALENDAR, now=datetime(2026, 8, 11, tzinfo=WITA))
    assert refused.value.extensions["reason"] == "outside-booking-window"
