"""The public tracking pages of applications and complaints: a sequential number is not enough,
its check code is asked for too; those who may read the application or complaint need none; a
wrong code is answered as an unknown number is, and too many close the number's page."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from alembic import command
from sqlalchemy import text

from applications import numbers
from applications.settings import Settings
from mpp_shared import db
from mpp_shared.testing import KAFKA, Databases, Tokens, read_topic, settings_for

from ..conftest import AGENCY, agency_facts, catalog_event
from .test_applications import apply

CODE = re.compile(rf"^[{numbers.CHECK_ALPHABET}]{{{numbers.CHECK_LENGTH}}}$")


def wrong(code: str) -> str:
    """Another code of the same form."""
    return next(c for c in ("222222", "333333") if c != code)


def without_instance(answer: httpx.Response) -> dict[str, Any]:
    """A problem's body but for `instance` (the path asked, which names the number)."""
    body: dict[str, Any] = answer.json()
    body.pop("instance", None)
    return body


async def test_the_public_page_answers_a_number_with_its_check_code_and_only_with_it(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    created = (await apply(applications, tokens, upload, service, "citizen-track-a")).json()
    number, code = created["tracking_number"], created["check_code"]
    assert CODE.match(code), code

    right = await applications.get(f"/api/v1/track/{number}", params={"code": code})
    assert right.status_code == 200, right.text
    assert right.json()["tracking_number"] == number
    assert right.json()["state"]["code"] == "submitted"
    assert "citizen-track-a" not in right.text and code not in right.text
    typed = await applications.get(
        f"/api/v1/track/{number.lower()}", params={"code": f" {code[:3].lower()} {code[3:]}"}
    )
    assert typed.status_code == 200, "case and spaces aside, as people type it"

    missing = await applications.get(f"/api/v1/track/{number}")
    mistaken = await applications.get(f"/api/v1/track/{number}", params={"code": wrong(code)})
    unknown = await applications.get(
        f"/api/v1/track/{number[:-6]}999999", params={"code": wrong(code)}
    )
    for answer in (missing, mistaken, unknown):
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert missing.json() == mistaken.json(), "no code and a wrong one are answered alike"
    assert without_instance(mistaken) == without_instance(unknown), (
        "a number that exists is not told from one that does not"
    )
    assert mistaken.headers.keys() == unknown.headers.keys()


async def test_the_applicant_is_given_the_code_and_those_who_may_read_track_without_it(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    submitted = (await apply(applications, tokens, upload, service, "citizen-track-b")).json()
    owner = tokens.headers("citizen", subject="citizen-track-b")
    mine = await applications.get(f"/api/v1/applications/{submitted['id']}", headers=owner)
    assert mine.status_code == 200, mine.text
    assert mine.json()["check_code"] == submitted["check_code"], "the signed-in view shows it"

    path = f"/api/v1/track/{submitted['tracking_number']}"
    readers = {
        "the applicant": owner,
        "the agency's officer": tokens.headers("officer", agency=AGENCY),
        "the agency's partner": tokens.headers(
            "partner", agency=AGENCY, scopes=["applications:read"]
        ),
    }
    for who, headers in readers.items():
        answer = await applications.get(path, headers=headers)
        assert answer.status_code == 200, f"{who}: {answer.text}"
    strangers = {
        "another citizen": tokens.headers("citizen", subject="citizen-track-other"),
        "another agency's partner": tokens.headers(
            "partner", agency="LAIN", scopes=["applications:read"]
        ),
        "a partner without the scope": tokens.headers("partner", agency=AGENCY),
    }
    for who, headers in strangers.items():
        answer = await applications.get(path, headers=headers)
        assert answer.status_code == 404, f"{who}: {answer.text}"
        given = await applications.get(
            path, params={"code": submitted["check_code"]}, headers=headers
        )
        assert given.status_code == 200, f"{who} with the code: {given.text}"


async def test_the_submitted_event_carries_the_check_code_for_the_link_in_messages(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    service = await publish_service()
    body = (await apply(applications, tokens, upload, service, "citizen-track-c")).json()
    cancelled = await applications.post(
        f"/api/v1/applications/{body['id']}/actions/cancel",
        headers=tokens.headers("citizen", subject="citizen-track-c"),
    )
    assert cancelled.status_code == 200, cancelled.text

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [e for e in (json.loads(r.value) for r in records) if e["subject"] == body["id"]]

    seen = await read_topic(
        KAFKA,
        applications_settings.topic("applications.events"),
        until=lambda r: len(ours(r)) >= 2,
    )
    events = ours(seen)
    assert events[0]["type"] == "applications.application.submitted.v1"
    assert {e["data"]["check_code"] for e in events} == {body["check_code"]}, (
        "every event of the application, so each message's link opens its page"
    )


async def test_too_many_wrong_codes_close_a_numbers_public_page_but_not_the_applicants(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    target = (await apply(applications, tokens, upload, service, "citizen-track-d")).json()
    other = (await apply(applications, tokens, upload, service, "citizen-track-e")).json()
    path = f"/api/v1/track/{target['tracking_number']}"
    for _ in range(numbers.WRONG_CODES_PER_WINDOW):
        guess = await applications.get(path, params={"code": wrong(target["check_code"])})
        assert guess.status_code == 404
    closed = await applications.get(path, params={"code": target["check_code"]})
    assert closed.status_code == 404, "the right code is refused too while guessing is stopped"
    assert closed.json() == guess.json()
    owner = tokens.headers("citizen", subject="citizen-track-d")
    assert (await applications.get(path, headers=owner)).status_code == 200
    another = await applications.get(
        f"/api/v1/track/{other['tracking_number']}", params={"code": other["check_code"]}
    )
    assert another.status_code == 200, "other numbers are not affected"


async def test_public_complaint_tracking_asks_for_the_check_code_too(
    applications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    await feed(catalog_event(agency_facts(AGENCY)))
    citizen = f"c-{secrets.token_hex(4)}"
    headers = tokens.headers("citizen", subject=citizen)
    filed = await applications.post(
        "/api/v1/complaints",
        json={"subject": "Antrean", "description": "Antrean tidak bergerak.", "agency": AGENCY},
        headers=headers,
    )
    assert filed.status_code == 201, filed.text
    complaint = filed.json()
    assert CODE.match(complaint["check_code"]), complaint
    mine = await applications.get(f"/api/v1/complaints/{complaint['id']}", headers=headers)
    assert mine.json()["check_code"] == complaint["check_code"]

    path = f"/api/v1/track/complaints/{complaint['tracking_id']}"
    right = await applications.get(path, params={"code": complaint["check_code"]})
    assert right.status_code == 200, right.text
    assert right.json()["state"]["code"] == "received"
    assert (await applications.get(path, headers=headers)).status_code == 200, "its citizen"
    missing = await applications.get(path)
    mistaken = await applications.get(path, params={"code": wrong(complaint["check_code"])})
    unknown = await applications.get(
        "/api/v1/track/complaints/ADU-SNJ-20000101-000001", params={"code": "222222"}
    )
    for answer in (missing, mistaken, unknown):
        assert answer.status_code == 404, answer.text
    assert without_instance(mistaken) == without_instance(unknown) == without_instance(missing)


async def test_the_migration_gives_earlier_applications_and_complaints_a_code_each(
    postgres: Databases, namespace: str
) -> None:
    settings = settings_for(
        Settings,
        namespace,
        service_name="applications_codes",
        postgres_user="mpp_applications",
    )
    await postgres.create(settings)
    config = db.alembic_config(settings, "applications.migrations")
    engine = db.create_engine(settings)
    try:
        async with engine.connect() as connection:

            def before_codes(sync: Any) -> None:
                config.attributes["connection"] = sync
                command.upgrade(config, "0002")

            await connection.run_sync(before_codes)
            for n in range(3):
                await connection.execute(
                    text(
                        "INSERT INTO applications (id, tracking_number, citizen_id, service_id, "
                        "service_slug, service_version, agency, state, open, form, documents, "
                        "submitted_at, updated_at, state_entered_at, overall_due_at, version) "
                        "VALUES (:id, :number, 'c', 's', 's', 1, 'UJI', 'submitted', true, "
                        "'{}', '{}', now(), now(), now(), now(), 1)"
                    ),
                    {"id": f"a{n}", "number": f"SNJ-UJI-20260101-00000{n}"},
                )
            await connection.execute(
                text(
                    "INSERT INTO complaints (id, tracking_id, citizen_id, subject, description, "
                    "state, open, filed_at, updated_at, forward_due_at, overdue, version) "
                    "VALUES ('k1', 'ADU-SNJ-20260101-000001', 'c', 's', 'd', 'received', true, "
                    "now(), now(), now(), false, 1)"
                )
            )
            await connection.commit()
        await db.migrate(settings, "applications.migrations")
        async with engine.connect() as connection:
            codes = list(await connection.scalars(text("SELECT check_code FROM applications")))
            codes += list(await connection.scalars(text("SELECT check_code FROM complaints")))
    finally:
        await engine.dispose()
    assert len(codes) == 4
    assert all(CODE.match(c) for c in codes), codes
    assert len(set(codes)) == 4, "drawn for each row, not once for all"
