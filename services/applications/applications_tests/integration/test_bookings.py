"""Counter bookings on the real store and Kafka: slots, the race for the last seat, retries,
refusals, who may see a booking, the counter's agenda and the events."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

import httpx

from applications.settings import Settings
from applications.workdays import WorkingCalendar
from mpp_shared import events, topics
from mpp_shared.contracts.catalog import ServicePublished, ServiceWithdrawn
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import agency_facts, catalog_event, published_service

CALENDAR = WorkingCalendar("Asia/Makassar")
TICKET = re.compile(r"^A1-\d{4}-[2-9A-HJ-NP-Z]{4}$")
WEEK = [
    {"weekday": d, "opens": "08:00:00", "closes": "15:00:00"}
    | {"break_start": "12:00:00", "break_end": "13:00:00"}
    for d in (1, 2, 3, 4, 5)
]


def working_days(count: int) -> list[dt.date]:
    """The next `count` working days after today (local), so every slot of them is upcoming."""
    day, found = CALENDAR.local_date(dt.datetime.now(dt.UTC)), []
    while len(found) < count:
        day += dt.timedelta(days=1)
        if CALENDAR.is_working_day(day):
            found.append(day)
    return found


def at(day: dt.date, hhmm: str) -> str:
    """A local slot start as RFC 3339 with its offset."""
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=CALENDAR.zone).isoformat()


async def bookable(
    feed: Callable[..., Any],
    *,
    capacity: int = 12,
    channels: tuple[str, ...] = ("online", "booking"),
) -> ServicePublished:
    """A service of a fresh agency whose counter A1 takes it: weekdays 08:00-15:00, lunch 12-13,
    30-minute slots (12 a day), `capacity` visits a day."""
    agency = f"BK{secrets.token_hex(3).upper()}"
    service = published_service(agency=agency, channels=list(channels))
    counter = {
        "code": "A1",
        "name": {"id": "Loket A1", "en": "Counter A1"},
        "opening_hours": WEEK,
        "services": [{"service": service.slug, "daily_capacity": capacity, "slot_minutes": 30}],
    }
    await feed(catalog_event(agency_facts(agency, counters=[counter])), catalog_event(service))
    return service


async def book(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    citizen: str,
    service: ServicePublished,
    starts_at: str,
    *,
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    headers = tokens.headers("citizen", subject=citizen)
    if key:
        headers["Idempotency-Key"] = key
    return await applications.post(
        "/api/v1/bookings",
        json={"service": service.slug, "starts_at": starts_at, **extra},
        headers=headers,
    )


async def seats_left(
    applications: httpx.AsyncClient, service: ServicePublished, day: dt.date
) -> dict[str, int]:
    answer = await applications.get(
        "/api/v1/bookings/slots", params={"service": service.slug, "date": day.isoformat()}
    )
    assert answer.status_code == 200, answer.text
    [only] = answer.json()["days"]
    return {s["starts_at"]: s["seats_left"] for s in only["slots"]}


async def test_a_day_shows_every_slot_in_local_time_with_its_seats(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    answer = await applications.get(
        "/api/v1/bookings/slots", params={"service": service.service_id, "date": day.isoformat()}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["service_slug"] == service.slug
    assert body["counters"] == [
        {
            "code": "A1",
            "name": {"id": "Loket A1", "en": "Counter A1"},
            "slot_minutes": 30,
            "daily_capacity": 12,
        }
    ]
    [only] = body["days"]
    assert (only["date"], only["working_day"], only["seats_left"]) == (day.isoformat(), True, 12)
    starts = [s["starts_at"] for s in only["slots"]]
    assert starts[0] == at(day, "08:00") and starts[0].endswith("+08:00")
    assert at(day, "11:30") in starts and at(day, "12:00") not in starts
    assert at(day, "13:00") in starts and len(starts) == 12
    assert only["slots"][0]["ends_at"] == at(day, "08:30")

    booked = await book(applications, tokens, "c-slots", service, at(day, "09:00"))
    assert booked.status_code == 201, booked.text
    left = await seats_left(applications, service, day)
    assert left[at(day, "09:00")] == 0 and left[at(day, "09:30")] == 1


async def test_without_a_date_the_window_is_summed_per_working_day(
    applications: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    answer = await applications.get("/api/v1/bookings/slots", params={"service": service.slug})
    assert answer.status_code == 200, answer.text
    days = answer.json()["days"]
    dates = [dt.date.fromisoformat(d["date"]) for d in days]
    assert all(CALENDAR.is_working_day(d) for d in dates)
    assert working_days(1)[0] in dates
    assert max(dates) <= CALENDAR.local_date(dt.datetime.now(dt.UTC)) + dt.timedelta(days=30)
    assert all(d["slots"] is None for d in days)
    assert {
        d["seats_left"] for d in days if dt.date.fromisoformat(d["date"]) in working_days(3)
    } == {12}


async def test_fifty_citizens_racing_for_the_last_seat_leave_one_booking_and_the_cancel_frees_it(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed, capacity=1)  # one visit a day: the 08:00 slot's one seat
    day = working_days(1)[0]
    assert await seats_left(applications, service, day) == {at(day, "08:00"): 1}

    answers = await asyncio.gather(
        *(book(applications, tokens, f"racer-{i}", service, at(day, "08:00")) for i in range(50))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 49, [a.text for a in answers if a.status_code >= 500]
    assert {a.json()["reason"] for a in answers if a.status_code == 409} == {"slot-full"}
    assert await seats_left(applications, service, day) == {at(day, "08:00"): 0}

    [winner] = [a for a in answers if a.status_code == 201]
    owner = f"racer-{answers.index(winner)}"
    cancelled = await applications.delete(
        f"/api/v1/bookings/{winner.json()['id']}", headers=tokens.headers("citizen", subject=owner)
    )
    assert cancelled.status_code == 204
    assert await seats_left(applications, service, day) == {at(day, "08:00"): 1}
    again = await book(applications, tokens, "latecomer", service, at(day, "08:00"))
    assert again.status_code == 201, again.text
    read = await applications.get(
        f"/api/v1/bookings/{winner.json()['id']}", headers=tokens.headers("citizen", subject=owner)
    )
    assert read.json()["state"] == "cancelled"


async def test_a_booking_answers_its_ticket_and_twice_with_one_key_is_once(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    key = f"book-{secrets.token_hex(6)}"
    first = await book(applications, tokens, "c-twice", service, at(day, "10:00"), key=key)
    assert first.status_code == 201, first.text
    body = first.json()
    assert TICKET.match(body["ticket_code"]) and body["ticket_code"].startswith("A1-1000-")
    assert (body["state"], body["counter"], body["date"]) == ("booked", "A1", day.isoformat())
    assert (body["starts_at"], body["ends_at"]) == (at(day, "10:00"), at(day, "10:30"))
    assert first.headers["Location"] == f"/api/v1/bookings/{body['id']}"

    second = await book(applications, tokens, "c-twice", service, at(day, "10:00"), key=key)
    assert second.status_code == 200
    assert second.json() == body
    mine = await applications.get(
        "/api/v1/bookings", headers=tokens.headers("citizen", subject="c-twice")
    )
    assert [b["id"] for b in mine.json()["items"]] == [body["id"]]
    assert (await seats_left(applications, service, day))[at(day, "10:00")] == 0

    reused = await book(applications, tokens, "c-twice", service, at(day, "10:30"), key=key)
    assert reused.status_code == 422
    assert reused.json()["type"] == "/problems/idempotency-key-reused"


async def test_the_same_key_sent_concurrently_still_makes_one_booking(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    key = f"book-{secrets.token_hex(6)}"
    answers = await asyncio.gather(
        *(
            book(applications, tokens, "c-eager", service, at(day, "09:00"), key=key)
            for _ in range(5)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert (await seats_left(applications, service, day))[at(day, "09:00")] == 0
    assert (await seats_left(applications, service, day))[at(day, "09:30")] == 1


async def test_a_booking_may_name_the_citizens_own_application_of_that_service(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    feed: Callable[..., Any],
    upload: Callable[..., Any],
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    document = await upload("c-applied", "surat_lahir")
    applied = await applications.post(
        "/api/v1/applications",
        json={
            "service": service.slug,
            "form": {"child_name": "Andi", "birth_date": "2026-11-01"},
            "documents": {"surat_lahir": [document]},
        },
        headers=tokens.headers("citizen", subject="c-applied"),
    )
    assert applied.status_code == 201, applied.text
    application_id = applied.json()["id"]
    stranger = await book(
        applications, tokens, "c-other", service, at(day, "09:00"), application_id=application_id
    )
    assert stranger.status_code == 422
    assert stranger.json()["errors"][0]["field"] == "application_id"
    booked = await book(
        applications, tokens, "c-applied", service, at(day, "09:00"), application_id=application_id
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["application_id"] == application_id


async def test_cancelling_twice_is_once(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    booked = (await book(applications, tokens, "c-undo", service, at(day, "13:00"))).json()
    owner = tokens.headers("citizen", subject="c-undo")
    for _ in range(2):
        answer = await applications.delete(f"/api/v1/bookings/{booked['id']}", headers=owner)
        assert answer.status_code == 204
    assert (await seats_left(applications, service, day))[at(day, "13:00")] == 1
    rebooked = await book(applications, tokens, "c-undo", service, at(day, "14:00"))
    assert rebooked.status_code == 201, "a cancelled booking no longer counts as the day's"


async def test_a_date_and_time_work_as_well_as_starts_at(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    answer = await applications.post(
        "/api/v1/bookings",
        json={"service": service.slug, "date": day.isoformat(), "time": "08:30", "counter": "A1"},
        headers=tokens.headers("citizen", subject="c-split"),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["starts_at"] == at(day, "08:30")


async def test_bookings_that_cannot_be_made_are_refused_clearly_in_indonesian(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    online_only = await bookable(feed, channels=("online",))
    withdrawn = await bookable(feed)
    await feed(
        events.new_event(
            type="catalog.service.withdrawn.v1",
            source=topics.source_of("catalog"),
            subject=withdrawn.service_id,
            data=ServiceWithdrawn(
                service_id=withdrawn.service_id,
                slug=withdrawn.slug,
                version=withdrawn.version,
                withdrawn_at=dt.datetime.now(dt.UTC),
            ),
        )
    )
    day, other_day = working_days(2)
    today = CALENDAR.local_date(dt.datetime.now(dt.UTC))
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    taken = await book(applications, tokens, "c-refused", service, at(day, "08:00"))
    assert taken.status_code == 201

    cases = [
        (online_only, at(day, "09:00"), 409, "booking-not-offered"),
        (withdrawn, at(day, "09:00"), 409, "service-withdrawn"),
        (service, at(today - dt.timedelta(days=1), "09:00"), 422, "slot-in-past"),
        (service, at(saturday, "09:00"), 422, "not-working-day"),
        (service, at(today + dt.timedelta(days=45), "09:00"), 422, "outside-booking-window"),
        (service, at(other_day, "08:10"), 422, "no-such-slot"),
        (service, at(day, "09:00"), 409, "already-booked"),  # one a day per service
    ]
    for target, starts_at, status, reason in cases:
        answer = await book(applications, tokens, "c-refused", target, starts_at)
        assert (answer.status_code, answer.json().get("reason")) == (status, reason), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["content-language"] == "id"

    unknown = await applications.post(
        "/api/v1/bookings",
        json={"service": "tidak-ada", "starts_at": at(day, "09:00")},
        headers=tokens.headers("citizen", subject="c-refused"),
    )
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "service-not-found")
    full = await book(applications, tokens, "c-other", service, at(day, "08:00"))
    assert full.json()["detail"] == "Slot ini sudah penuh. Silakan pilih waktu lain."
    english = await applications.post(
        "/api/v1/bookings",
        json={"service": service.slug, "starts_at": at(day, "08:00")},
        headers=tokens.headers("citizen", subject="c-other") | {"Accept-Language": "en"},
    )
    assert english.json()["detail"] == "This slot is full. Please pick another time."
    neither = await applications.post(
        "/api/v1/bookings",
        json={"service": service.slug, "date": day.isoformat()},
        headers=tokens.headers("citizen", subject="c-other"),
    )
    assert neither.status_code == 422 and neither.json()["errors"][0]["field"] == "starts_at"
    staff = await applications.post(
        "/api/v1/bookings",
        json={"service": service.slug, "starts_at": at(day, "09:00")},
        headers=tokens.headers("officer", agency=service.agency),
    )
    assert staff.status_code == 403
    not_bookable = await applications.get(
        "/api/v1/bookings/slots", params={"service": online_only.slug}
    )
    assert not_bookable.json()["reason"] == "booking-not-offered"


async def test_another_citizens_booking_does_not_exist_for_you(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    booked = (await book(applications, tokens, "c-mine", service, at(day, "11:00"))).json()
    path = f"/api/v1/bookings/{booked['id']}"
    stranger = tokens.headers("citizen", subject="c-stranger")
    for method, url in [("GET", path), ("GET", f"{path}/ticket.svg"), ("DELETE", path)]:
        answer = await applications.request(method, url, headers=stranger)
        assert answer.status_code == 404, (method, url, answer.text)
    foreign = tokens.headers("officer", agency="LAIN")
    assert (await applications.get(path, headers=foreign)).status_code == 404
    officer = tokens.headers("officer", agency=service.agency)
    assert (await applications.get(path, headers=officer)).json()["id"] == booked["id"]
    assert (await applications.get(path)).status_code == 401
    mine = await applications.get(path, headers=tokens.headers("citizen", subject="c-mine"))
    assert mine.json()["state"] == "booked"


async def test_the_ticket_is_a_qr_code_of_its_code(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    booked = (await book(applications, tokens, "c-qr", service, at(day, "14:30"))).json()
    svg = await applications.get(
        booked["ticket_url"], headers=tokens.headers("citizen", subject="c-qr")
    )
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "<svg" in svg.text and f"<title>{booked['ticket_code']}</title>" in svg.text


async def test_a_citizen_lists_only_their_own_bookings_newest_first_by_pages(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    ids = []
    for day in working_days(3):
        answer = await book(applications, tokens, "c-list", service, at(day, "09:30"))
        ids.append(answer.json()["id"])
    await book(applications, tokens, "c-list-other", service, at(working_days(1)[0], "10:30"))
    owner = tokens.headers("citizen", subject="c-list")
    first = await applications.get("/api/v1/bookings", params={"limit": 2}, headers=owner)
    assert [b["id"] for b in first.json()["items"]] == ids[::-1][:2]
    cursor = first.json()["next_cursor"]
    rest = await applications.get(
        "/api/v1/bookings", params={"limit": 2, "cursor": cursor}, headers=owner
    )
    assert [b["id"] for b in rest.json()["items"]] == ids[:1]
    assert rest.json()["next_cursor"] is None
    broken = await applications.get("/api/v1/bookings", params={"cursor": "!!"}, headers=owner)
    assert broken.status_code == 400


async def test_the_counter_sees_its_agency_day_by_time(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    later = await book(applications, tokens, "c-agenda-1", service, at(day, "14:00"))
    sooner = await book(applications, tokens, "c-agenda-2", service, at(day, "08:30"))
    gone = await book(applications, tokens, "c-agenda-3", service, at(day, "10:00"))
    await applications.delete(
        f"/api/v1/bookings/{gone.json()['id']}",
        headers=tokens.headers("citizen", subject="c-agenda-3"),
    )
    officer = tokens.headers("officer", agency=service.agency)
    answer = await applications.get(
        "/api/v1/bookings/agenda", params={"date": day.isoformat()}, headers=officer
    )
    assert answer.status_code == 200, answer.text
    agenda = answer.json()
    assert (agenda["agency"], agenda["booked"], agenda["cancelled"]) == (service.agency, 2, 1)
    assert [i["ticket_code"] for i in agenda["items"] if i["state"] == "booked"] == [
        sooner.json()["ticket_code"],
        later.json()["ticket_code"],
    ]
    assert agenda["items"][0]["citizen_id"] == "c-agenda-2"

    viewer = tokens.headers("ops_viewer")
    params = {"agency": service.agency, "date": day.isoformat()}
    seen = await applications.get("/api/v1/bookings/agenda", params=params, headers=viewer)
    assert seen.json()["booked"] == 2
    for outsider in (
        tokens.headers("officer", agency="LAIN"),
        tokens.headers("citizen", subject="c-agenda-1"),
    ):
        refused = await applications.get("/api/v1/bookings/agenda", params=params, headers=outsider)
        assert refused.status_code == 403


async def test_booking_events_reach_kafka_with_ids_and_no_personal_data(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    feed: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    service = await bookable(feed)
    day = working_days(1)[0]
    booked = (await book(applications, tokens, "c-events", service, at(day, "11:30"))).json()
    await applications.delete(
        f"/api/v1/bookings/{booked['id']}", headers=tokens.headers("citizen", subject="c-events")
    )

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [e for e in (json.loads(r.value) for r in records) if e["subject"] == booked["id"]]

    seen = await read_topic(
        KAFKA,
        applications_settings.topic("applications.events"),
        until=lambda r: len(ours(r)) >= 2,
    )
    created, cancelled = ours(seen)
    assert created["type"] == "applications.booking.created.v1"
    assert created["data"] == {
        "booking_id": booked["id"],
        "ticket_code": booked["ticket_code"],
        "citizen_id": "c-events",
        "service_id": service.service_id,
        "agency": service.agency,
        "counter": "A1",
        "date": day.isoformat(),
        "starts_at": at(day, "11:30"),
        "application_id": None,
    }
    assert cancelled["type"] == "applications.booking.cancelled.v1"
    assert cancelled["data"]["booking_id"] == booked["id"]
    assert cancelled["data"]["starts_at"] == at(day, "11:30")
