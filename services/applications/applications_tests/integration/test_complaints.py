"""Complaints (SP4N-LAPOR!) on the real store and Kafka: the round trip and its events, who may
see and do what, retries and races, and the clocks run with a `now` in the future."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from applications.complaints.clocks import check_clocks
from applications.workdays import WorkingCalendar
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import AGENCY, agency_facts, catalog_event
from .test_surveys import an_application

TOPIC = "applications.events"
COMPLAINT = {
    "subject": "Petugas meminta biaya tambahan",
    "description": "Saat mengambil akta, petugas meminta uang Rp50.000 tanpa kuitansi.",
    "category": "pungutan_liar",
}


@pytest.fixture
async def known_agency(feed: Callable[..., Any]) -> str:
    """The test agency in the catalog's read model."""
    await feed(catalog_event(agency_facts(AGENCY)))
    return AGENCY


def citizen_headers(tokens: Tokens, citizen: str) -> dict[str, str]:
    return tokens.headers("citizen", subject=citizen)


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def file(
    applications: httpx.AsyncClient, tokens: Tokens, citizen: str, **changes: Any
) -> dict[str, Any]:
    response = await applications.post(
        "/api/v1/complaints",
        json=COMPLAINT | {"agency": AGENCY} | changes,
        headers=citizen_headers(tokens, citizen),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def act(
    applications: httpx.AsyncClient,
    headers: dict[str, str],
    complaint_id: str,
    action: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    return await applications.post(
        f"/api/v1/complaints/{complaint_id}/{action}", json=body, headers=headers
    )


async def read(
    applications: httpx.AsyncClient, headers: dict[str, str], complaint_id: str
) -> httpx.Response:
    return await applications.get(f"/api/v1/complaints/{complaint_id}", headers=headers)


def calendar_of(applications: httpx.AsyncClient) -> WorkingCalendar:
    calendar: WorkingCalendar = applications.app.state.calendar  # type: ignore[attr-defined]
    return calendar


def engine_of(applications: httpx.AsyncClient) -> Any:
    """The running service's database."""
    return applications.app.state.runtime.engine  # type: ignore[attr-defined]


async def test_a_complaint_goes_round_trip_with_its_clocks_and_events(
    applications: httpx.AsyncClient, tokens: Tokens, applications_settings: Any
) -> None:
    citizen = f"c-{secrets.token_hex(4)}"
    application_id = await an_application(applications, citizen)
    calendar = calendar_of(applications)
    admin, officer = tokens.headers("mpp_admin"), tokens.headers("officer", agency=AGENCY)
    mine = citizen_headers(tokens, citizen)

    filed = await file(applications, tokens, citizen, application_id=application_id, agency=None)
    complaint_id = filed["id"]
    today = calendar.local_date(dt.datetime.now(dt.UTC)).strftime("%Y%m%d")
    assert filed["tracking_id"].startswith(f"ADU-SNJ-{today}-")
    assert len(filed["tracking_id"].rsplit("-", 1)[1]) == 6
    assert filed["agency"] == AGENCY, "the application's agency is the complaint's"
    assert filed["state"]["code"] == "received"
    assert when(filed["due_at"]) == calendar.add(when(filed["filed_at"]), 3)
    assert [a["code"] for a in filed["actions"]] == ["close"]
    assert (await read(applications, officer, complaint_id)).status_code == 404, (
        "the agency sees it once forwarded"
    )

    forwarded = await act(
        applications, admin, complaint_id, "forward", {"message": "Terverifikasi"}
    )
    assert forwarded.status_code == 200, forwarded.text
    body = forwarded.json()
    assert body["state"]["code"] == "forwarded"
    forwarded_at = when(body["timeline"][-1]["at"])
    assert when(body["due_at"]) == calendar.add(forwarded_at, 5)

    seen_by_officer = await read(applications, officer, complaint_id)
    assert [a["code"] for a in seen_by_officer.json()["actions"]] == ["respond"]
    responded = await act(
        applications, officer, complaint_id, "respond", {"message": "Sudah kami tindak lanjuti."}
    )
    assert responded.status_code == 200, responded.text
    body = responded.json()
    assert body["state"]["code"] == "responded"
    assert body["due_at"] is None
    assert when(body["closes_at"]) == calendar.add(when(body["timeline"][-1]["at"]), 10)

    replied = await act(
        applications, mine, complaint_id, "reply", {"message": "Uang belum kembali."}
    )
    assert replied.status_code == 200, replied.text
    body = replied.json()
    assert body["state"]["code"] == "forwarded"
    assert body["closes_at"] is None
    assert when(body["due_at"]) == calendar.add(when(body["timeline"][-1]["at"]), 5)

    again = await act(
        applications, officer, complaint_id, "respond", {"message": "Sudah dikembalikan."}
    )
    assert again.status_code == 200
    closed = await act(applications, mine, complaint_id, "close")
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["state"]["code"] == "closed"
    assert body["actions"] == []
    assert [
        (line["action"]["code"], line["actor_role"], line["state"]["code"])
        for line in body["timeline"]
    ] == [
        ("file", "citizen", "received"),
        ("forward", "mpp_admin", "forwarded"),
        ("respond", "officer", "responded"),
        ("reply", "citizen", "forwarded"),
        ("respond", "officer", "responded"),
        ("close", "citizen", "closed"),
    ]
    assert body["timeline"][2]["message"] == "Sudah kami tindak lanjuti."
    assert all(line["actor"] is None for line in body["timeline"]), "citizens see roles, not names"
    staff_view = await read(applications, admin, complaint_id)
    assert staff_view.json()["timeline"][2]["actor"] is not None

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        found = (json.loads(r.value) for r in records)
        return [e for e in found if e["subject"] == complaint_id]

    seen = await read_topic(
        KAFKA, applications_settings.topic(TOPIC), until=lambda r: len(ours(r)) >= 6
    )
    events = ours(seen)
    assert [e["type"].split(".")[2] for e in events] == [
        "filed",
        "forwarded",
        "responded",
        "replied",
        "responded",
        "closed",
    ]
    assert {e["data"]["tracking_id"] for e in events} == {filed["tracking_id"]}
    assert events[-1]["data"]["automatic"] is False
    assert "Rp50.000" not in json.dumps(events) and "dikembalikan" not in json.dumps(events), (
        "events carry ids and states, not what people wrote"
    )

    public = await applications.get(
        f"/api/v1/track/complaints/{filed['tracking_id'].lower()}",
        params={"code": filed["check_code"]},
    )
    assert public.status_code == 200, public.text
    assert public.json()["state"]["code"] == "closed"
    assert len(public.json()["timeline"]) == 6
    for private in (citizen, "Rp50.000", "biaya tambahan", "dikembalikan"):
        assert private not in public.text
    assert (
        await applications.get("/api/v1/track/complaints/ADU-SNJ-20000101-000001")
    ).status_code == 404


async def test_filing_twice_with_one_idempotency_key_files_once(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    citizen = f"c-{secrets.token_hex(4)}"
    headers = citizen_headers(tokens, citizen) | {"Idempotency-Key": f"adu-{secrets.token_hex(8)}"}
    body = COMPLAINT | {"agency": known_agency}
    first, second = await asyncio.gather(
        applications.post("/api/v1/complaints", json=body, headers=headers),
        applications.post("/api/v1/complaints", json=body, headers=headers),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 201], (first.text, second.text)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["tracking_id"] == second.json()["tracking_id"]
    later = await applications.post("/api/v1/complaints", json=body, headers=headers)
    assert later.status_code == 200
    assert later.json()["id"] == first.json()["id"]
    reused = await applications.post(
        "/api/v1/complaints", json=body | {"subject": "Lain lagi"}, headers=headers
    )
    assert reused.status_code == 422
    listed = await applications.get("/api/v1/complaints", headers=citizen_headers(tokens, citizen))
    assert [c["id"] for c in listed.json()["items"]] == [first.json()["id"]]


async def test_another_citizens_complaint_is_not_found(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    filed = await file(applications, tokens, "c-victim")
    stranger = citizen_headers(tokens, "c-stranger")
    assert (await read(applications, stranger, filed["id"])).status_code == 404
    for action, body in (("close", None), ("reply", {"message": "x"})):
        response = await act(applications, stranger, filed["id"], action, body)
        assert response.status_code == 404, action
    await act(applications, tokens.headers("mpp_admin"), filed["id"], "forward")
    other_agency = tokens.headers("officer", agency="LAIN")
    assert (await read(applications, other_agency, filed["id"])).status_code == 404
    responded = await act(applications, other_agency, filed["id"], "respond", {"message": "x"})
    assert responded.status_code == 404
    assert (await read(applications, tokens.headers("ops_viewer"), filed["id"])).status_code == 200


async def test_wrong_roles_and_states_are_refused_saying_why(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    citizen = f"c-{secrets.token_hex(4)}"
    mine = citizen_headers(tokens, citizen)
    admin, officer = tokens.headers("mpp_admin"), tokens.headers("officer", agency=AGENCY)
    complaint_id = (await file(applications, tokens, citizen))["id"]

    by_citizen = await act(applications, mine, complaint_id, "forward")
    assert by_citizen.status_code == 403
    assert by_citizen.json()["reason"] == "role-not-allowed"
    assert "administrator MPP" in by_citizen.json()["detail"]
    viewer = await act(applications, tokens.headers("ops_viewer"), complaint_id, "forward")
    assert viewer.status_code == 403
    early_reply = await act(applications, mine, complaint_id, "reply", {"message": "Halo?"})
    assert early_reply.status_code == 409
    assert early_reply.json()["reason"] == "action-not-allowed"
    assert early_reply.json()["allowed_actions"] == ["close"]
    assert (
        await act(applications, officer, complaint_id, "respond", {"message": "x"})
    ).status_code == 404

    assert (await act(applications, admin, complaint_id, "forward")).status_code == 200
    twice = await act(applications, admin, complaint_id, "forward", None)
    assert twice.status_code == 409
    english = await applications.post(
        f"/api/v1/complaints/{complaint_id}/forward", headers=admin | {"Accept-Language": "en"}
    )
    assert english.json()["detail"] == (
        "'Verified and forwarded' is not possible while the complaint is 'Forwarded to the agency'."
    )
    assert (
        await act(applications, officer, complaint_id, "reply", {"message": "x"})
    ).status_code == 403
    empty = await act(applications, officer, complaint_id, "respond", {"message": "  "})
    assert empty.status_code == 422
    assert (
        await act(applications, admin, complaint_id, "respond", {"message": "x"})
    ).status_code == 403

    unexplained = await act(applications, admin, complaint_id, "close")
    assert unexplained.status_code == 422
    assert unexplained.json()["errors"][0]["field"] == "message"
    closed = await act(applications, admin, complaint_id, "close", {"message": "Laporan ganda."})
    assert closed.status_code == 200
    assert (await act(applications, mine, complaint_id, "close")).status_code == 409


async def test_of_two_concurrent_answers_one_wins(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    complaint_id = (await file(applications, tokens, f"c-{secrets.token_hex(4)}"))["id"]
    await act(applications, tokens.headers("mpp_admin"), complaint_id, "forward")
    answers = await asyncio.gather(
        *(
            act(
                applications,
                tokens.headers("officer", agency=AGENCY),
                complaint_id,
                "respond",
                {"message": f"Jawaban {i}"},
            )
            for i in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["reason"] in ("concurrent-action", "action-not-allowed")
    timeline = (await read(applications, tokens.headers("mpp_admin"), complaint_id)).json()[
        "timeline"
    ]
    assert [line["action"]["code"] for line in timeline] == ["file", "forward", "respond"]


async def test_a_complaint_names_only_the_citizens_own_application_and_a_known_agency(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    someone_elses = await an_application(applications, "c-owner-2")
    headers = citizen_headers(tokens, "c-complainer")
    foreign = await applications.post(
        "/api/v1/complaints", json=COMPLAINT | {"application_id": someone_elses}, headers=headers
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "application_id"
    own = await an_application(applications, "c-complainer")
    mismatch = await applications.post(
        "/api/v1/complaints",
        json=COMPLAINT | {"application_id": own, "agency": "LAIN"},
        headers=headers,
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["field"] == "agency"
    unknown = await applications.post(
        "/api/v1/complaints", json=COMPLAINT | {"agency": "TIDAKADA"}, headers=headers
    )
    assert unknown.status_code == 422
    staff = await applications.post(
        "/api/v1/complaints", json=COMPLAINT, headers=tokens.headers("officer", agency=AGENCY)
    )
    assert staff.status_code == 403
    # Without any agency the mall's administrator names one when forwarding.
    filed = await file(applications, tokens, "c-complainer", agency=None)
    assert filed["agency"] is None
    admin = tokens.headers("mpp_admin")
    nameless = await act(applications, admin, filed["id"], "forward")
    assert nameless.status_code == 422
    named = await act(applications, admin, filed["id"], "forward", {"agency": known_agency})
    assert named.status_code == 200
    assert named.json()["agency"] == known_agency


async def test_lists_hold_what_each_role_may_see(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    citizen = f"c-{secrets.token_hex(4)}"
    first = await file(applications, tokens, citizen)
    second = await file(applications, tokens, citizen)
    await file(applications, tokens, f"c-{secrets.token_hex(4)}")
    await act(applications, tokens.headers("mpp_admin"), second["id"], "forward")

    own = await applications.get(
        "/api/v1/complaints", params={"limit": 1}, headers=citizen_headers(tokens, citizen)
    )
    assert own.status_code == 200, own.text
    assert [c["id"] for c in own.json()["items"]] == [second["id"]], "newest first"
    assert own.json()["by_state"] == {"received": 1, "forwarded": 1}
    rest = await applications.get(
        "/api/v1/complaints",
        params={"limit": 1, "cursor": own.json()["next_cursor"]},
        headers=citizen_headers(tokens, citizen),
    )
    assert [c["id"] for c in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_cursor"] is None

    agency_list = await applications.get(
        "/api/v1/complaints",
        params={"limit": 100},
        headers=tokens.headers("officer", agency=AGENCY),
    )
    ids = {c["id"] for c in agency_list.json()["items"]}
    assert second["id"] in ids and first["id"] not in ids, "forwarded ones only"
    assert set(agency_list.json()["by_state"]) <= {"forwarded", "responded", "closed"}

    everything = await applications.get(
        "/api/v1/complaints",
        params={"state": "received", "limit": 100},
        headers=tokens.headers("ops_viewer"),
    )
    assert first["id"] in {c["id"] for c in everything.json()["items"]}
    assert all(c["state"]["code"] == "received" for c in everything.json()["items"])
    partner = await applications.get("/api/v1/complaints", headers=tokens.headers("partner"))
    assert partner.status_code == 403


# --- the clocks ----------------------------------------------------------------------------------


async def test_a_complaint_not_forwarded_in_3_working_days_is_noted_overdue_once(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    engine, calendar = engine_of(applications), calendar_of(applications)
    filed = await file(applications, tokens, f"c-{secrets.token_hex(4)}")
    deadline = calendar.add(when(filed["filed_at"]), 3)
    assert await check_clocks(engine, calendar=calendar, now=deadline) >= 0
    admin = tokens.headers("mpp_admin")
    on_time = (await read(applications, admin, filed["id"])).json()
    assert on_time["overdue"] is False, "due at the end of the third working day, not before"

    late = deadline + dt.timedelta(seconds=1)
    assert await check_clocks(engine, calendar=calendar, now=late) >= 1
    assert await check_clocks(engine, calendar=calendar, now=late) == 0, "each overdue noted once"
    body = (await read(applications, admin, filed["id"])).json()
    assert body["overdue"] is True
    assert body["state"]["code"] == "received"
    assert [line["action"]["code"] for line in body["timeline"]] == ["file", "forward_overdue"]
    assert body["timeline"][-1]["actor_role"] == "system"
    listed = await applications.get("/api/v1/complaints", params={"limit": 1}, headers=admin)
    assert listed.json()["overdue_forward"] >= 1

    forwarded = await act(applications, admin, filed["id"], "forward")
    assert forwarded.json()["overdue"] is False, "a new clock starts"


async def test_an_agency_not_answering_in_5_working_days_is_noted_overdue_each_round_once(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    engine, calendar = engine_of(applications), calendar_of(applications)
    citizen = f"c-{secrets.token_hex(4)}"
    admin, officer = tokens.headers("mpp_admin"), tokens.headers("officer", agency=AGENCY)
    complaint_id = (await file(applications, tokens, citizen))["id"]
    forwarded = (await act(applications, admin, complaint_id, "forward")).json()
    late = when(forwarded["due_at"]) + dt.timedelta(seconds=1)
    assert await check_clocks(engine, calendar=calendar, now=late) >= 1
    await check_clocks(engine, calendar=calendar, now=late)
    body = (await read(applications, officer, complaint_id)).json()
    assert body["overdue"] is True
    assert [line["action"]["code"] for line in body["timeline"]].count("response_overdue") == 1
    counts = await applications.get("/api/v1/complaints", params={"limit": 1}, headers=officer)
    assert counts.json()["overdue_response"] >= 1

    # Answered late, replied to: the new round has its own clock, noted again if missed.
    await act(applications, officer, complaint_id, "respond", {"message": "Maaf terlambat."})
    replied = (
        await act(
            applications,
            citizen_headers(tokens, citizen),
            complaint_id,
            "reply",
            {"message": "Belum jelas."},
        )
    ).json()
    assert replied["overdue"] is False
    late_again = when(replied["due_at"]) + dt.timedelta(seconds=1)
    await check_clocks(engine, calendar=calendar, now=late_again)
    body = (await read(applications, officer, complaint_id)).json()
    assert [line["action"]["code"] for line in body["timeline"]].count("response_overdue") == 2


async def test_an_answer_without_reply_closes_after_10_working_days(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str, applications_settings: Any
) -> None:
    engine, calendar = engine_of(applications), calendar_of(applications)
    admin, officer = tokens.headers("mpp_admin"), tokens.headers("officer", agency=AGENCY)
    complaint_id = (await file(applications, tokens, f"c-{secrets.token_hex(4)}"))["id"]
    await act(applications, admin, complaint_id, "forward")
    responded = (
        await act(applications, officer, complaint_id, "respond", {"message": "Selesai."})
    ).json()
    closes_at = when(responded["closes_at"])
    assert closes_at == calendar.add(when(responded["timeline"][-1]["at"]), 10)

    await check_clocks(engine, calendar=calendar, now=closes_at)
    assert (await read(applications, admin, complaint_id)).json()["state"]["code"] == "responded"
    assert (
        await check_clocks(engine, calendar=calendar, now=closes_at + dt.timedelta(seconds=1)) >= 1
    )
    body = (await read(applications, admin, complaint_id)).json()
    assert body["state"]["code"] == "closed"
    assert (body["timeline"][-1]["action"]["code"], body["timeline"][-1]["actor_role"]) == (
        "auto_close",
        "system",
    )

    def closed(records: list[Any]) -> list[dict[str, Any]]:
        found = (json.loads(r.value) for r in records)
        return [
            e
            for e in found
            if e["subject"] == complaint_id and e["type"] == "applications.complaint.closed.v1"
        ]

    seen = await read_topic(
        KAFKA, applications_settings.topic(TOPIC), until=lambda r: bool(closed(r))
    )
    [event] = closed(seen)
    assert event["data"]["automatic"] is True
    assert event["data"]["state"] == "closed"


async def test_a_reply_stops_the_automatic_closing(
    applications: httpx.AsyncClient, tokens: Tokens, known_agency: str
) -> None:
    engine, calendar = engine_of(applications), calendar_of(applications)
    citizen = f"c-{secrets.token_hex(4)}"
    admin, officer = tokens.headers("mpp_admin"), tokens.headers("officer", agency=AGENCY)
    complaint_id = (await file(applications, tokens, citizen))["id"]
    await act(applications, admin, complaint_id, "forward")
    responded = (
        await act(applications, officer, complaint_id, "respond", {"message": "Ok."})
    ).json()
    await act(
        applications, citizen_headers(tokens, citizen), complaint_id, "reply", {"message": "Belum."}
    )
    await check_clocks(
        engine, calendar=calendar, now=when(responded["closes_at"]) + dt.timedelta(days=1)
    )
    assert (await read(applications, admin, complaint_id)).json()["state"]["code"] == "forwarded"
