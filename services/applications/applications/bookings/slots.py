"""The slots of a service at its counters: pure functions of the counters' opening hours, the
working-day calendar and each counter-service's daily capacity, spread over its slots."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from pydantic import ValidationError

from applications.bookings.models import Counter, CounterService
from applications.workdays import WorkingCalendar
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished

log = logging.getLogger(__name__)
WINDOW_DAYS = 30  # bookable from today up to this many days ahead
Offer = tuple[Counter, CounterService]


@dataclass(frozen=True)
class PlannedSlot:
    """A slot of one counter's service on one day, with its share of the day's capacity."""

    counter: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    seats: int

    @property
    def label(self) -> str:
        """The local start as HHMM, as seat ids and ticket codes show it."""
        return self.starts_at.strftime("%H%M")


def seat_allocation(capacity: int, slots: int) -> list[int]:
    """Seats of each of `slots` slots: ceil or floor of capacity / slots, summing to capacity.

    Slot i holds ceil((i+1)·c/n) - ceil(i·c/n): spread evenly, the first slot never empty.
    """
    return [
        _ceil_div((i + 1) * capacity, slots) - _ceil_div(i * capacity, slots) for i in range(slots)
    ]


def _ceil_div(dividend: int, divisor: int) -> int:
    return -(-dividend // divisor)


def day_slots(
    counter: Counter, offer: CounterService, day: dt.date, *, calendar: WorkingCalendar
) -> list[PlannedSlot]:
    """Every slot of a counter's service on a day (none on a closed day), past ones included."""
    if not calendar.is_working_day(day):
        return []
    step = dt.timedelta(minutes=offer.slot_minutes)
    starts: set[dt.datetime] = set()
    for hours in counter.opening_hours:
        if hours.weekday != day.isoweekday():
            continue
        start, closes = at(day, hours.opens, calendar), at(day, hours.closes, calendar)
        pause = None
        if hours.break_start and hours.break_end and hours.break_start < hours.break_end:
            pause = (at(day, hours.break_start, calendar), at(day, hours.break_end, calendar))
        while start + step <= closes:
            if pause and start < pause[1] and start + step > pause[0]:
                start = pause[1]  # resume right after the break, not on the old grid
                continue
            starts.add(start)
            start += step
    ordered = sorted(starts)
    seats = seat_allocation(offer.daily_capacity, len(ordered)) if ordered else []
    return [
        PlannedSlot(counter=counter.code, starts_at=s, ends_at=s + step, seats=n)
        for s, n in zip(ordered, seats, strict=True)
    ]


def at(day: dt.date, time: dt.time, calendar: WorkingCalendar) -> dt.datetime:
    return dt.datetime.combine(day, time.replace(tzinfo=None), tzinfo=calendar.zone)


def window(calendar: WorkingCalendar, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The first and last day that may be booked."""
    today = calendar.local_date(now)
    return today, today + dt.timedelta(days=WINDOW_DAYS)


def offers(agency: AgencyUpserted | None, service: ServicePublished) -> list[Offer]:
    """The agency's counters that handle the service, by counter code."""
    found: list[Offer] = []
    for raw in agency.counters if agency else []:
        try:
            counter = Counter.model_validate(raw)
        except ValidationError as exc:
            log.warning("agency %s: a counter is unreadable: %s", agency and agency.code, exc)
            continue
        for offer in counter.services:
            if offer.service in (service.slug, service.service_id):
                found.append((counter, offer))
    return sorted(found, key=lambda o: o[0].code)


def day_key(service: ServicePublished, counter: str, day: dt.date) -> str:
    """What one counter's seats for one service on one day are filed under."""
    return f"{service.agency}:{counter}:{service.service_id}:{day.isoformat()}"
