"""The booking rules: slots from the counters' opening hours, seats that cannot be overbooked, one
active booking per citizen, service and day, and cancellation that frees the seat.

Capacity: a counter-service's `daily_capacity` is spread over the day's slots once and for all,
each slot holding the floor or the ceiling of capacity / slots, so the day adds up to exactly the
capacity (fewer visits than slots: every few slots holds one). Booking takes the first free seat
number of the slot (a row whose primary key only one transaction can insert) and writes the
booking in the same transaction, so concurrent citizens never share a seat.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications import catalog_view
from applications import store as applications_store
from applications.bookings import store
from applications.bookings.models import (
    BookingInput,
    BookingRecord,
    Counter,
    CounterInfo,
    Day,
    Slot,
    Slots,
)
from applications.bookings.slots import (
    WINDOW_DAYS,
    Offer,
    PlannedSlot,
    at,
    day_key,
    day_slots,
    offers,
    window,
)
from applications.workdays import WorkingCalendar
from mpp_shared import db, idempotency, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.applications import BookingCancelled, BookingCreated
from mpp_shared.contracts.catalog import ServicePublished
from mpp_shared.events import Event, new_event
from mpp_shared.problems import Problem

log = logging.getLogger(__name__)

SOURCE = topics.source_of("applications")
# Ticket codes: no 0/O or 1/I to misread at the counter.
TICKET_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# A booking that lost a race (the citizen's day, a ticket code) is tried again this many times.
ATTEMPTS = 3


# Why a booking is refused: status, Indonesian and English (`{first}`, `{last}`, `{day}` filled in).
REFUSALS: dict[str, tuple[int, str, str]] = {
    "service-not-found": (404, "Layanan tidak ditemukan.", "No such service."),
    "service-withdrawn": (
        409,
        "Layanan ini tidak lagi dilayani.",
        "This service is no longer offered.",
    ),
    "booking-not-offered": (
        409,
        "Layanan ini tidak menerima pemesanan jadwal kunjungan ke loket.",
        "This service does not take counter bookings.",
    ),
    "slot-in-past": (
        422,
        "Waktu ini sudah lewat. Pilih slot yang akan datang.",
        "This time has passed. Pick an upcoming slot.",
    ),
    "outside-booking-window": (
        422,
        "Jadwal hanya dapat dipesan dari {first:%d-%m-%Y} sampai {last:%d-%m-%Y}.",
        "Bookings are open from {first:%Y-%m-%d} to {last:%Y-%m-%d}.",
    ),
    "not-working-day": (
        422,
        "{day:%d-%m-%Y} bukan hari kerja (akhir pekan atau hari libur nasional).",
        "{day:%Y-%m-%d} is not a working day (a weekend or a national holiday).",
    ),
    "no-such-slot": (
        422,
        "Tidak ada slot layanan ini pada waktu tersebut. Pilih dari daftar slot yang tersedia.",
        "This service has no slot at that time. Pick one from the available slots.",
    ),
    "already-booked": (
        409,
        "Anda sudah memiliki jadwal untuk layanan ini pada hari itu. Batalkan dulu bila ingin "
        "mengganti waktunya.",
        "You already have a booking for this service that day. Cancel it to change the time.",
    ),
    "slot-full": (
        409,
        "Slot ini sudah penuh. Silakan pilih waktu lain.",
        "This slot is full. Please pick another time.",
    ),
    "booking-past": (
        409,
        "Jadwal ini sudah lewat dan tidak dapat dibatalkan.",
        "This booking has passed and cannot be cancelled.",
    ),
}


def refused(reason: str, **values: Any) -> Problem:
    """The problem+json answer for a refused booking, its `reason` machine-readable."""
    status, indonesian, english = REFUSALS[reason]
    code = {404: "not-found", 409: "conflict"}.get(status, "validation")
    detail = {"id": indonesian.format(**values), "en": english.format(**values)}
    return Problem(status, code, detail=detail, reason=reason)


def _field_error(field: str, indonesian: str, english: str) -> Problem:
    message = {"id": indonesian, "en": english}
    return Problem(422, "validation", errors=[{"field": field, "in": "body", "message": message}])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- availability --------------------------------------------------------------------------------


async def bookable_service(connection: AsyncConnection, ref: str) -> ServicePublished:
    """The service by slug or id, if it takes bookings; else why not."""
    found = await catalog_view.service(connection, ref)
    if found is None:
        raise refused("service-not-found")
    service, open_for_applications = found
    if not open_for_applications:
        raise refused("service-withdrawn")
    if "booking" not in service.channels:
        raise refused("booking-not-offered")
    return service


async def slots(
    engine: AsyncEngine,
    *,
    calendar: WorkingCalendar,
    ref: str,
    day: dt.date | None,
    now: dt.datetime,
) -> Slots:
    """One day's future slots with the seats left, or (no day) the window's seats left per day."""
    async with engine.connect() as connection:
        service = await bookable_service(connection, ref)
        counters = offers(await catalog_view.agency(connection, service.agency), service)
        first, last = window(calendar, now)
        if day is not None and not first <= day <= last:
            raise refused("outside-booking-window", first=first, last=last)
        days = [day] if day else [first + dt.timedelta(days=n) for n in range(WINDOW_DAYS + 1)]
        keys = [day_key(service, c.code, d) for d in days for c, _ in counters]
        taken = await store.taken_seats(connection, keys)
    planned = {d: _plans(service, counters, d, calendar) for d in days}
    answer = []
    for each in days:
        working = calendar.is_working_day(each)
        if day is None and not working:
            continue
        free = [
            Slot(
                counter=p.counter,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                seats_left=max(0, p.seats - taken[(day_key(service, p.counter, each), p.label)]),
            )
            for p in planned[each]
            if p.starts_at > now
        ]
        answer.append(
            Day(
                date=each,
                working_day=working,
                seats_left=sum(s.seats_left for s in free),
                slots=free if day else None,
            )
        )
    return Slots(
        service_id=service.service_id,
        service_slug=service.slug,
        service_name=service.name,
        agency=service.agency,
        counters=[
            CounterInfo(
                code=c.code,
                name=c.name,
                slot_minutes=o.slot_minutes,
                daily_capacity=o.daily_capacity,
            )
            for c, o in counters
        ],
        days=answer,
    )


def _plans(
    service: ServicePublished, counters: Iterable[Offer], day: dt.date, calendar: WorkingCalendar
) -> list[PlannedSlot]:
    """The day's slots at every counter that has seats, by time then counter."""
    found = [p for c, o in counters for p in day_slots(c, o, day, calendar=calendar) if p.seats]
    return sorted(found, key=lambda p: (p.starts_at, p.counter))


# --- booking -------------------------------------------------------------------------------------


async def book(
    engine: AsyncEngine,
    *,
    calendar: WorkingCalendar,
    caller: Principal,
    data: BookingInput,
    idempotency_key: str | None,
) -> tuple[BookingRecord, bool]:
    """Book a seat in a slot for a citizen; a retry with the same key returns the first booking."""
    fingerprint = idempotency.fingerprint(data)
    booking_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:bookings", key=idempotency_key
    )
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with db.transaction(engine) as connection:
                await store.wait_for_key(connection, booking_id)
                existing = await store.find(connection, booking_id)
                if existing is not None:
                    return _replay(existing, fingerprint), False
                booking, event = await _new_booking(
                    connection,
                    calendar=calendar,
                    caller=caller,
                    data=data,
                    booking_id=booking_id,
                    fingerprint=fingerprint,
                )
                if not await store.insert(
                    connection, booking, idempotency_key=idempotency_key, new_events=[event]
                ):
                    raise _KeyTaken  # and give the seat back
                return booking, True
        except _KeyTaken:
            break
        except IntegrityError as error:
            # Another booking of the citizen's that day, or the same ticket code, was written
            # meanwhile: everything is rolled back, and the next attempt sees it.
            if not db.is_unique_violation(error) or attempt == ATTEMPTS:
                raise
    async with engine.connect() as connection:
        first = await store.find(connection, booking_id)
    assert first is not None
    return _replay(first, fingerprint), False


class _KeyTaken(Exception):
    """Another request with the same idempotency key recorded its booking first."""


def _replay(existing: BookingRecord, fingerprint: str) -> BookingRecord:
    """The first booking made with a key, unless the key was reused for another request."""
    idempotency.check_replay(existing.request_fingerprint, fingerprint)
    return existing


async def _new_booking(
    connection: AsyncConnection,
    *,
    calendar: WorkingCalendar,
    caller: Principal,
    data: BookingInput,
    booking_id: str,
    fingerprint: str,
) -> tuple[BookingRecord, Event]:
    """A booking holding a free seat of the slot asked for, and its event; else why not."""
    now = _now()
    service = await bookable_service(connection, data.service)
    starts_at = requested_start(data, calendar)
    day = bookable_day(starts_at, calendar=calendar, now=now)
    if data.application_id:
        await _check_application(connection, caller, service, data.application_id)
    agency = await catalog_view.agency(connection, service.agency)
    candidates = [
        (counter, plan)
        for counter, offer in offers(agency, service)
        if data.counter in (None, counter.code)
        for plan in day_slots(counter, offer, day, calendar=calendar)
        if plan.starts_at == starts_at and plan.seats
    ]
    if not candidates:
        raise refused("no-such-slot")
    if await store.has_active(
        connection, citizen_id=caller.subject, service_id=service.service_id, day=day
    ):
        raise refused("already-booked")
    seat = await _take_seat(connection, service, day, candidates, booking_id)
    if seat is None:
        raise refused("slot-full")
    counter, plan = seat
    booking = BookingRecord(
        id=booking_id,
        ticket_code=await _new_ticket(connection, plan),
        state="booked",
        citizen_id=caller.subject,
        service_id=service.service_id,
        service_slug=service.slug,
        service_name=service.name,
        agency=service.agency,
        counter=counter.code,
        counter_name=counter.name,
        date=day,
        starts_at=plan.starts_at.astimezone(dt.UTC),
        ends_at=plan.ends_at.astimezone(dt.UTC),
        application_id=data.application_id,
        created_at=now,
        updated_at=now,
        cancelled_at=None,
        request_fingerprint=fingerprint,
        version=1,
    )
    created = BookingCreated(
        booking_id=booking_id,
        ticket_code=booking.ticket_code,
        citizen_id=caller.subject,
        service_id=service.service_id,
        agency=service.agency,
        counter=counter.code,
        date=day,
        starts_at=plan.starts_at,
        application_id=data.application_id,
    )
    event = new_event(created, source=SOURCE, subject=booking_id)
    return booking, event


def requested_start(data: BookingInput, calendar: WorkingCalendar) -> dt.datetime:
    """The slot start asked for, in local time: `starts_at`, or `date` with `time`."""
    if data.starts_at is not None and data.date is None and data.time is None:
        start = data.starts_at
        return start.replace(tzinfo=calendar.zone) if start.tzinfo is None else start
    if data.starts_at is None and data.date is not None and data.time is not None:
        return at(data.date, data.time, calendar)
    raise _field_error(
        "starts_at",
        "Isi starts_at, atau date bersama time.",
        "Give starts_at, or date together with time.",
    )


def bookable_day(starts_at: dt.datetime, *, calendar: WorkingCalendar, now: dt.datetime) -> dt.date:
    """The local day of a requested slot; refused in the past, beyond the window or when closed."""
    if starts_at <= now:
        raise refused("slot-in-past")
    try:
        day = calendar.local_date(starts_at)
    except OverflowError:  # the year 9999 with an offset
        day = dt.date.max
    first, last = window(calendar, now)
    if not first <= day <= last:
        raise refused("outside-booking-window", first=first, last=last)
    if not calendar.is_working_day(day):
        raise refused("not-working-day", day=day)
    return day


async def _check_application(
    connection: AsyncConnection, caller: Principal, service: ServicePublished, application_id: str
) -> None:
    application = await applications_store.find_record(connection, application_id)
    if (
        application is None
        or application.citizen_id != caller.subject
        or application.service_id != service.service_id
    ):
        raise _field_error(
            "application_id",
            "Permohonan ini tidak ditemukan untuk Anda dan layanan ini.",
            "You have no such application for this service.",
        )


async def _take_seat(
    connection: AsyncConnection,
    service: ServicePublished,
    day: dt.date,
    candidates: list[tuple[Counter, PlannedSlot]],
    booking_id: str,
) -> tuple[Counter, PlannedSlot] | None:
    """The first free seat of the slot at any of the counters, now held for the booking."""
    for counter, plan in candidates:
        key = day_key(service, counter.code, day)
        for number in range(1, plan.seats + 1):
            if await store.take_seat(
                connection, day_key=key, slot=plan.label, seat=number, booking_id=booking_id
            ):
                return counter, plan
    return None


async def _new_ticket(connection: AsyncConnection, plan: PlannedSlot) -> str:
    """A short code never handed out before: counter, time and four random characters."""
    while True:
        suffix = "".join(secrets.choice(TICKET_ALPHABET) for _ in range(4))
        code = f"{plan.counter}-{plan.label}-{suffix}"
        if not await store.ticket_taken(connection, code):
            return code


# --- reading and cancelling ----------------------------------------------------------------------


def may_read(caller: Principal, booking: BookingRecord) -> bool:
    """The citizen who booked, the agency's staff and the mall-wide roles."""
    if caller.role == "citizen":
        return booking.citizen_id == caller.subject
    return caller.is_staff_of(booking.agency) or caller.role == "ops_viewer"


async def load_visible(engine: AsyncEngine, *, caller: Principal, booking_id: str) -> BookingRecord:
    """A booking the caller may read, or a 404 (never a 403 telling it exists)."""
    async with engine.connect() as connection:
        booking = await store.find(connection, booking_id)
    if booking is None or not may_read(caller, booking):
        raise Problem(404, "not-found")
    return booking


async def of_citizen(
    engine: AsyncEngine, *, caller: Principal, cursor: str | None, limit: int
) -> list[BookingRecord]:
    """The citizen's own bookings, newest first: `limit + 1` after the cursor."""
    async with engine.connect() as connection:
        return await store.of_citizen(connection, caller.subject, cursor=cursor, limit=limit)


async def agenda(
    engine: AsyncEngine, *, agency: str, day: dt.date, counter: str | None
) -> list[BookingRecord]:
    """An agency's bookings of a day (one counter's when given), by time."""
    async with engine.connect() as connection:
        return await store.of_agency_day(connection, agency, day, counter)


async def cancel(
    engine: AsyncEngine, *, calendar: WorkingCalendar, caller: Principal, booking_id: str
) -> bool:
    """Cancel a citizen's own upcoming booking and free its seat; True when this call did it.
    Of concurrent cancels the first does it; the others find it cancelled."""
    async with db.transaction(engine) as connection:
        booking = await store.find(connection, booking_id, for_update=True)
        if booking is None or booking.citizen_id != caller.subject:
            raise Problem(404, "not-found")
        if booking.state != "booked":
            return False
        if booking.starts_at <= _now():
            raise refused("booking-past")
        cancelled = BookingCancelled(
            booking_id=booking_id,
            citizen_id=booking.citizen_id,
            service_id=booking.service_id,
            agency=booking.agency,
            counter=booking.counter,
            date=booking.date,
            starts_at=booking.starts_at.astimezone(calendar.zone),
        )
        event = new_event(cancelled, source=SOURCE, subject=booking_id)
        await store.cancel(connection, booking_id, now=_now(), new_events=[event])
        return True
