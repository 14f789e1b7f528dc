"""Routes of bookings: the public slots, a citizen's bookings and ticket, the counter's agenda."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated

import segno
from fastapi import APIRouter, Query, Response

from applications.bookings import service
from applications.bookings.models import (
    Agenda,
    AgendaItem,
    Booking,
    BookingInput,
    BookingRecord,
    Slots,
)
from applications.deps import CalendarDep
from applications.workdays import WorkingCalendar
from mpp_shared import pagination
from mpp_shared.auth import CurrentPrincipal, Principal, require
from mpp_shared.idempotency import IdempotencyKey
from mpp_shared.problems import Problem
from mpp_shared.web import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["bookings"])

Citizen = Annotated[Principal, require("citizen")]
Staff = Annotated[Principal, require("officer", "agency_admin", "mpp_admin", "ops_viewer")]


def _view(booking: BookingRecord, calendar: WorkingCalendar) -> Booking:
    return Booking(
        id=booking.id,
        ticket_code=booking.ticket_code,
        ticket_url=f"/api/v1/bookings/{booking.id}/ticket.svg",
        state=booking.state,
        service_id=booking.service_id,
        service_slug=booking.service_slug,
        service_name=booking.service_name,
        agency=booking.agency,
        counter=booking.counter,
        counter_name=booking.counter_name,
        date=booking.date,
        starts_at=booking.starts_at.astimezone(calendar.zone),
        ends_at=booking.ends_at.astimezone(calendar.zone),
        application_id=booking.application_id,
        created_at=booking.created_at,
        cancelled_at=booking.cancelled_at,
    )


@router.get("/bookings/slots")
async def slots(
    rt: RuntimeDep,
    calendar: CalendarDep,
    service_ref: Annotated[str, Query(alias="service", min_length=1, description="Slug or id")],
    date: Annotated[dt.date | None, Query(description="One day's slots; else a summary")] = None,
) -> Slots:
    """Free seats per slot on a day at every counter of the service, or per day for 30 days."""
    return await service.slots(
        rt.engine, calendar=calendar, ref=service_ref, day=date, now=dt.datetime.now(dt.UTC)
    )


@router.get("/bookings/agenda")
async def agenda(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: Staff,
    agency: Annotated[str | None, Query(description="Mall-wide roles: which agency")] = None,
    date: Annotated[dt.date | None, Query(description="Today when empty")] = None,
    counter: Annotated[str | None, Query(description="Only this counter's")] = None,
) -> Agenda:
    """An agency's bookings of a day, by time: what the counters expect."""
    agency = agency or caller.agency
    if agency is None:
        raise Problem(
            422,
            "validation",
            errors=[
                {
                    "field": "agency",
                    "in": "query",
                    "message": {"id": "Wajib diisi.", "en": "Field required."},
                }
            ],
        )
    if not (caller.is_staff_of(agency) or caller.role == "ops_viewer"):
        raise Problem(
            403,
            "forbidden",
            detail={
                "id": "Agenda ini hanya untuk petugas instansi tersebut.",
                "en": "Only the agency's staff may see its agenda.",
            },
        )
    day = date or calendar.local_date(dt.datetime.now(dt.UTC))
    found = await service.agenda(rt.engine, agency=agency, day=day, counter=counter)
    return Agenda(
        agency=agency,
        date=day,
        booked=sum(b.state == "booked" for b in found),
        cancelled=sum(b.state == "cancelled" for b in found),
        items=[
            AgendaItem(
                id=b.id,
                ticket_code=b.ticket_code,
                state=b.state,
                counter=b.counter,
                starts_at=b.starts_at.astimezone(calendar.zone),
                ends_at=b.ends_at.astimezone(calendar.zone),
                service_slug=b.service_slug,
                service_name=b.service_name,
                citizen_id=b.citizen_id,
                application_id=b.application_id,
            )
            for b in found
        ],
    )


@router.post("/bookings", status_code=201)
async def book(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: Citizen,
    data: BookingInput,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Booking:
    """Book a counter visit in a free slot; answers the ticket code to show at the counter."""
    booking, created = await service.book(
        rt.engine, calendar=calendar, caller=caller, data=data, idempotency_key=idempotency_key
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/bookings/{booking.id}"
    return _view(booking, calendar)


@router.get("/bookings")
async def my_bookings(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: Citizen,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> pagination.Page[Booking]:
    """The citizen's own bookings, newest first."""
    found = await service.of_citizen(rt.engine, caller=caller, cursor=cursor, limit=limit)
    return pagination.keyset_page(
        [_view(b, calendar) for b in found], limit=limit, key=lambda b: (b.created_at, b.id)
    )


@router.get("/bookings/{booking_id}")
async def read(
    rt: RuntimeDep, calendar: CalendarDep, caller: CurrentPrincipal, booking_id: str
) -> Booking:
    """One booking: its citizen's, or the agency's staff's to see."""
    booking = await service.load_visible(rt.engine, caller=caller, booking_id=booking_id)
    return _view(booking, calendar)


@router.delete("/bookings/{booking_id}", status_code=204)
async def cancel(
    rt: RuntimeDep, calendar: CalendarDep, caller: Citizen, booking_id: str
) -> Response:
    """Cancel an upcoming booking; its seat is free again. Cancelling twice changes nothing."""
    await service.cancel(rt.engine, calendar=calendar, caller=caller, booking_id=booking_id)
    return Response(status_code=204)


@router.get(
    "/bookings/{booking_id}/ticket.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The QR code"}},
)
async def ticket(rt: RuntimeDep, caller: CurrentPrincipal, booking_id: str) -> Response:
    """The ticket code as a QR code (SVG), to show at the counter."""
    booking = await service.load_visible(rt.engine, caller=caller, booking_id=booking_id)
    svg = io.BytesIO()
    code = booking.ticket_code
    segno.make_qr(code, error="m").save(svg, kind="svg", scale=8, border=2, title=code)
    return Response(
        svg.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=86400"},
    )
