"""What the booking routes take and give, and the agency's counters as the catalog has them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from mpp_shared.contracts.catalog import LocalizedText, LocalTime

# --- the catalog's counters (AgencyUpserted.counters), read leniently --------------------------


class OpeningHours(BaseModel):
    """When a counter is open on one weekday (1 = Monday ... 7 = Sunday), local time."""

    weekday: Annotated[int, Field(ge=1, le=7)]
    opens: LocalTime
    closes: LocalTime
    break_start: LocalTime | None = None
    break_end: LocalTime | None = None


class CounterService(BaseModel):
    """A service a counter handles in person: visits per day and minutes per visit."""

    service: str
    daily_capacity: Annotated[int, Field(ge=1)]
    slot_minutes: Annotated[int, Field(ge=5, le=240)] = 15


class Counter(BaseModel):
    """A counter (loket) of the agency in the physical mall."""

    code: str
    name: LocalizedText
    opening_hours: list[OpeningHours] = []
    services: list[CounterService] = []


# --- input ---------------------------------------------------------------------------------------


class BookingInput(BaseModel):
    """A citizen's booking: the service, the slot's start (or date and time) and maybe a counter."""

    model_config = ConfigDict(extra="forbid")

    service: Annotated[str, Field(min_length=1, max_length=120, description="Slug or id")]
    counter: Annotated[str | None, Field(max_length=20, description="Any counter when empty")] = (
        None
    )
    starts_at: Annotated[
        dt.datetime | None, Field(description="The slot's start, RFC 3339; local if no offset")
    ] = None
    date: Annotated[dt.date | None, Field(description="With `time`, instead of `starts_at`")] = None
    time: Annotated[LocalTime | None, Field(description="Local time of the slot's start")] = None
    application_id: Annotated[str | None, Field(max_length=64)] = None


# --- output --------------------------------------------------------------------------------------


class CounterInfo(BaseModel):
    """A counter that handles the service."""

    code: str
    name: LocalizedText
    slot_minutes: int
    daily_capacity: int


class Slot(BaseModel):
    """A bookable time at one counter."""

    counter: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    seats_left: int


class Day(BaseModel):
    """One working day: the seats left in its future slots, and the slots when asked for."""

    date: dt.date
    working_day: bool
    seats_left: int
    slots: list[Slot] | None = Field(None, description="Only when one `date` was asked for")


class Slots(BaseModel):
    """A service's availability: one day's slots, or a summary of the bookable window."""

    service_id: str
    service_slug: str
    service_name: LocalizedText
    agency: str
    counters: list[CounterInfo]
    days: list[Day]


BookingState = Literal["booked", "cancelled"]


class Booking(BaseModel):
    """A counter visit as its citizen and the agency's staff see it."""

    id: str
    ticket_code: str = Field(description="Shown at the counter; also as a QR code")
    ticket_url: str
    state: BookingState
    service_id: str
    service_slug: str
    service_name: LocalizedText
    agency: str
    counter: str
    counter_name: LocalizedText
    date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    application_id: str | None
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class AgendaItem(BaseModel):
    """A booking on a counter's agenda."""

    id: str
    ticket_code: str
    state: BookingState
    counter: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    service_slug: str
    service_name: LocalizedText
    citizen_id: str
    application_id: str | None


class Agenda(BaseModel):
    """An agency's bookings of one day, by time and counter."""

    agency: str
    date: dt.date
    booked: int
    cancelled: int
    items: list[AgendaItem]


class BookingRecord(BaseModel):
    """A booking as the store holds it."""

    model_config = ConfigDict(frozen=True)

    id: str
    ticket_code: str
    state: BookingState
    citizen_id: str
    service_id: str
    service_slug: str
    service_name: LocalizedText
    agency: str
    counter: str
    counter_name: LocalizedText
    date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    application_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    cancelled_at: dt.datetime | None
    request_fingerprint: str | None
    version: int
