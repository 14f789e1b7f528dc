"""Submitting applications against the catalog's read model, the workflow engine, its races,
SLA clocks and the views, on the real store and Kafka."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import clocks as rules
from applications import store
from applications.models import StoredApplication
from applications.settings import Settings
from applications.workdays import WorkingCalendar
from mpp_shared import events, topics
from mpp_shared.contracts.documents import DocumentUploaded
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import AGENCY, catalog_event, published_service, review_workflow

FORM = {"child_name": "Andi", "birth_date": "2026-11-01", "weight_grams": 3100}


async def apply(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    service: Any,
    citizen: str,
    **changes: Any,
) -> httpx.Response:
    document = await upload(citizen, "surat_lahir")
    body = {"service": service.slug, "form": FORM, "documents": {"surat_lahir": [document]}}
    return await applications.post(
        "/api/v1/applications",
        json=body | changes,
        headers=tokens.headers("citizen", subject=citizen),
    )


async def test_a_submission_gets_a_tracking_number_and_its_first_state(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    service = await publish_service()
    response = await apply(applications, tokens, upload, service, "citizen-a")
    assert response.status_code == 201, response.text
    body = response.json()
    today = WorkingCalendar().local_date(dt.datetime.now(dt.UTC)).strftime("%Y%m%d")
    assert body["tracking_number"].startswith(f"SNJ-{AGENCY}-{today}-")
    assert body["state"]["code"] == "submitted"
    assert body["service_version"] == 1
    assert body["actions"] == [
        {"code": "cancel", "label": {"id": "cancel", "en": "cancel"}, "requires_note": False}
    ]
    assert response.headers["Location"] == f"/api/v1/applications/{body['id']}"

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [e for e in (json.loads(r.value) for r in records) if e["subject"] == body["id"]]

    seen = await read_topic(
        KAFKA, applications_settings.topic("applications.events"), until=lambda r: bool(ours(r))
    )
    [submitted] = ours(seen)
    assert submitted["type"] == "applications.application.submitted.v1"
    assert submitted["data"]["tracking_number"] == body["tracking_number"]
    assert "Andi" not in json.dumps(submitted), "events carry ids, not the form"


async def test_tracking_numbers_sort_by_date_and_agency_and_never_repeat(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    answers = await asyncio.gather(
        *(apply(applications, tokens, upload, service, f"citizen-n{i}") for i in range(8))
    )
    numbers = [a.json()["tracking_number"] for a in answers]
    assert len(set(numbers)) == 8


async def test_a_form_failing_its_schema_names_every_field_and_missing_documents(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    response = await applications.post(
        "/api/v1/applications",
        json={
            "service": service.slug,
            "form": {"birth_date": "kemarin", "weight_grams": 50, "colour": "red"},
            "documents": {"akta_lain": ["x"]},
        },
        headers=tokens.headers("citizen", subject="citizen-b"),
    )
    assert response.status_code == 422, response.text
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(fields) == {
        "form.child_name",
        "form.birth_date",
        "form.weight_grams",
        "form.colour",
        "documents.akta_lain",
        "documents.surat_lahir",
    }
    assert fields["form.child_name"] == "Wajib diisi."
    labels = {e["field"]: e.get("label") for e in response.json()["errors"]}
    assert labels["documents.surat_lahir"] == "Surat keterangan lahir"
    assert fields["documents.surat_lahir"] == "Dokumen ini wajib diunggah."
    english = await applications.post(
        "/api/v1/applications",
        json={"service": service.slug, "form": {}},
        headers=tokens.headers("citizen", subject="citizen-b") | {"Accept-Language": "en"},
    )
    messages = {e["field"]: e["message"] for e in english.json()["errors"]}
    assert messages["documents.surat_lahir"] == "This document is required."
    labels = {e["field"]: e.get("label") for e in english.json()["errors"]}
    assert labels["documents.surat_lahir"] == "Birth letter"


async def test_documents_must_be_the_citizens_own_and_checked(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    someone_elses = await upload("citizen-other")
    response = await applications.post(
        "/api/v1/applications",
        json={
            "service": service.slug,
            "form": FORM,
            "documents": {"surat_lahir": [someone_elses, "doc-unknown"]},
        },
        headers=tokens.headers("citizen", subject="citizen-c"),
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["documents.surat_lahir"] * 2


async def test_a_document_checked_a_moment_ago_is_waited_for_not_refused(
    applications: httpx.AsyncClient, tokens: Tokens, publish_service: Callable[..., Any]
) -> None:
    """The citizen uploads and submits at once: the documents service's event that the upload
    passed its checks reaches this service only while the submission is being handled."""
    service = await publish_service()
    document_id = f"doc-{secrets.token_hex(6)}"  # what the upload answered the phone
    runner = applications.app.state.runtime.consumer  # type: ignore[attr-defined]

    async def checked_a_moment_later() -> None:
        await asyncio.sleep(0.8)
        event = events.new_event(
            DocumentUploaded(
                document_id=document_id,
                owner="citizen-late",
                content_type="application/pdf",
                size=1234,
                sha256="0" * 64,
                requirement="surat_lahir",
            ),
            source=topics.source_of("documents"),
            subject=document_id,
        )
        await runner.apply(runner.handlers[event.type], event)

    submitted, _ = await asyncio.gather(
        applications.post(
            "/api/v1/applications",
            json={
                "service": service.slug,
                "form": FORM,
                "documents": {"surat_lahir": [document_id]},
            },
            headers=tokens.headers("citizen", subject="citizen-late"),
        ),
        checked_a_moment_later(),
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["documents"] == {"surat_lahir": [document_id]}


async def test_unknown_withdrawn_and_information_only_services_are_refused(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    feed: Callable[..., Any],
) -> None:
    unknown = await applications.post(
        "/api/v1/applications",
        json={"service": "tidak-ada"},
        headers=tokens.headers("citizen", subject="citizen-d"),
    )
    assert unknown.status_code == 404
    info = await publish_service(channels=["information"])
    refused = await apply(applications, tokens, upload, info, "citizen-d")
    assert (refused.status_code, refused.json()["reason"]) == (409, "service-not-online")
    staff = await applications.post(
        "/api/v1/applications",
        json={"service": info.slug},
        headers=tokens.headers("officer", agency=AGENCY),
    )
    assert staff.status_code == 403


async def test_the_same_idempotency_key_submits_once(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    document = await upload("citizen-e")
    body = {"service": service.slug, "form": FORM, "documents": {"surat_lahir": [document]}}
    headers = tokens.headers("citizen", subject="citizen-e") | {"Idempotency-Key": "draft-123456"}
    first, again = await asyncio.gather(
        applications.post("/api/v1/applications", json=body, headers=headers),
        applications.post("/api/v1/applications", json=body, headers=headers),
    )
    assert sorted([first.status_code, again.status_code]) == [200, 201]
    assert first.json()["tracking_number"] == again.json()["tracking_number"]
    mine = await applications.get("/api/v1/applications", headers=headers)
    assert [a["id"] for a in mine.json()["items"]] == [first.json()["id"]]
    other = await applications.post(
        "/api/v1/applications", json=body | {"form": FORM | {"child_name": "Budi"}}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"


async def test_the_whole_review_journey_with_revision_and_its_history(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    service = await publish_service()
    citizen = tokens.headers("citizen", subject="citizen-f")
    officer = tokens.headers("officer", subject="officer-1", agency=AGENCY)
    created = (await apply(applications, tokens, upload, service, "citizen-f")).json()
    path = f"/api/v1/applications/{created['id']}"

    async def act(action: str, headers: dict[str, str], **body: Any) -> httpx.Response:
        return await applications.post(
            f"{path}/actions/{action}", json=body or None, headers=headers
        )

    assert (await act("start_review", officer)).status_code == 200
    no_note = await act("request_revision", officer)
    assert no_note.status_code == 422
    sent_back = await act(
        "request_revision", officer, note="Surat lahir buram, mohon unggah ulang."
    )
    assert sent_back.json()["sla_paused"] is True
    assert sent_back.json()["state"]["code"] == "revision_requested"
    new_document = await upload("citizen-f", "surat_lahir")
    resubmitted = await act("resubmit", citizen, documents={"surat_lahir": [new_document]})
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["documents"]["surat_lahir"] == [new_document]
    assert (await act("start_review", officer)).status_code == 200
    approved = await act("approve", officer)
    assert approved.json()["state"]["code"] == "approved"
    done = await act("complete", officer)
    assert done.json()["state"] == {
        "code": "completed",
        "label": {"id": "completed", "en": "completed"},
        "terminal": True,
    }
    history = done.json()["history"]
    assert [(h["action"], h["from_state"], h["to_state"]) for h in history] == [
        ("submit", None, "submitted"),
        ("start_review", "submitted", "in_review"),
        ("request_revision", "in_review", "revision_requested"),
        ("resubmit", "revision_requested", "submitted"),
        ("start_review", "submitted", "in_review"),
        ("approve", "in_review", "approved"),
        ("complete", "approved", "completed"),
    ]
    assert history[2]["note"] == "Surat lahir buram, mohon unggah ulang."
    assert history[1]["actor"] == "officer-1"
    as_citizen = (await applications.get(path, headers=citizen)).json()
    assert all(h["actor"] is None for h in as_citizen["history"]), "officers stay anonymous"

    def ours(records: list[Any]) -> list[str]:
        return [
            e["type"]
            for e in (json.loads(r.value) for r in records)
            if e["subject"] == created["id"]
        ]

    seen = await read_topic(
        KAFKA,
        applications_settings.topic("applications.events"),
        until=lambda r: len(ours(r)) >= 10,
    )
    kinds = [k.removeprefix("applications.application.").removesuffix(".v1") for k in ours(seen)]
    assert kinds == [
        "submitted",
        "status_changed",
        "status_changed",
        "revision_requested",
        "status_changed",
        "status_changed",
        "status_changed",
        "approved",
        "status_changed",
        "completed",
    ]


async def test_actions_outside_the_state_or_role_say_why(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    created = (await apply(applications, tokens, upload, service, "citizen-g")).json()
    path = f"/api/v1/applications/{created['id']}/actions"
    officer = tokens.headers("officer", agency=AGENCY)
    early = await applications.post(f"{path}/approve", headers=officer)
    assert early.status_code == 409
    assert early.json()["reason"] == "action-not-allowed"
    assert early.json()["allowed_actions"] == ["start_review", "request_revision", "reject"]
    citizen_approves = await applications.post(
        f"{path}/start_review", headers=tokens.headers("citizen", subject="citizen-g")
    )
    assert citizen_approves.status_code == 403
    viewer = await applications.post(f"{path}/start_review", headers=tokens.headers("ops_viewer"))
    assert viewer.status_code == 403
    unknown = await applications.post(f"{path}/teleport", headers=officer)
    assert unknown.status_code == 404
    cancelled = await applications.post(
        f"{path}/cancel", headers=tokens.headers("citizen", subject="citizen-g")
    )
    assert cancelled.json()["state"]["code"] == "cancelled"
    late = await applications.post(f"{path}/start_review", headers=officer)
    assert late.status_code == 409


async def test_another_citizens_or_agencys_application_is_not_found(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    created = (await apply(applications, tokens, upload, service, "citizen-h")).json()
    path = f"/api/v1/applications/{created['id']}"
    for headers in (
        tokens.headers("citizen", subject="citizen-i"),
        tokens.headers("officer", agency="LAIN"),
        tokens.headers("agency_admin", agency="LAIN"),
    ):
        assert (await applications.get(path, headers=headers)).status_code == 404
        acted = await applications.post(f"{path}/actions/start_review", headers=headers)
        assert acted.status_code == 404
    assert (
        await applications.get(path, headers=tokens.headers("officer", agency=AGENCY))
    ).status_code == 200
    assert (await applications.get(path, headers=tokens.headers("ops_viewer"))).status_code == 200
    assert (await applications.get(path)).status_code == 401


async def test_of_two_concurrent_actions_exactly_one_wins(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    created = (await apply(applications, tokens, upload, service, "citizen-j")).json()
    path = f"/api/v1/applications/{created['id']}/actions"
    officer = tokens.headers("officer", agency=AGENCY)
    answers = await asyncio.gather(
        applications.post(f"{path}/start_review", headers=officer),
        applications.post(f"{path}/reject", json={"note": "Bukan warga Sinjai."}, headers=officer),
        applications.post(f"{path}/cancel", headers=tokens.headers("citizen", subject="citizen-j")),
        applications.post(f"{path}/start_review", headers=officer),
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1, [a.text for a in answers]
    assert set(statuses) == {200, 409}
    final = await applications.get(f"/api/v1/applications/{created['id']}", headers=officer)
    assert len(final.json()["history"]) == 2, "one action recorded, not two"


async def test_public_tracking_shows_the_status_without_personal_data(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    created = (await apply(applications, tokens, upload, service, "citizen-k")).json()
    tracked = await applications.get(
        f"/api/v1/track/{created['tracking_number'].lower()}",
        params={"code": created["check_code"]},
    )
    assert tracked.status_code == 200
    body = tracked.json()
    assert body["state"]["code"] == "submitted"
    text = json.dumps(body)
    assert "citizen-k" not in text and "Andi" not in text and "form" not in body
    assert (await applications.get("/api/v1/track/SNJ-UJI-20200101-999999")).status_code == 404


async def stored(engine: AsyncEngine, application_id: str) -> StoredApplication:
    async with engine.connect() as connection:
        found = await store.find(connection, application_id)
    assert found is not None
    return found


async def test_sla_clocks_breach_once_escalate_and_pause_during_revision(
    applications: httpx.AsyncClient,
    engine: AsyncEngine,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    service = await publish_service()
    calendar = WorkingCalendar(applications_settings.timezone)
    created = (await apply(applications, tokens, upload, service, "citizen-l")).json()
    first = await stored(engine, created["id"])
    assert first.overall_due_at == calendar.add(first.submitted_at, 3)

    assert first.state_due_at is not None
    late = first.state_due_at + dt.timedelta(seconds=1)
    assert await rules.check_clocks(engine, calendar=calendar, now=late) >= 1
    assert await rules.check_clocks(engine, calendar=calendar, now=late) == 0, (
        "a breach is raised once"
    )
    breached = await stored(engine, created["id"])
    assert breached.escalated is True
    assert any(b.startswith("state:submitted") for b in breached.breaches)

    # The breach names the state as the workflow does, for the administrators it is mailed to.
    def breaches(records: list[Any]) -> list[dict[str, Any]]:
        found = [json.loads(r.value) for r in records if r.key == created["id"].encode()]
        return [e["data"] for e in found if e["type"].endswith(".sla_breached.v1")]

    seen = await read_topic(
        KAFKA, applications_settings.topic("applications.events"), until=lambda r: bool(breaches(r))
    )
    [state_breach] = [b for b in breaches(seen) if b["clock"] == "state"]
    label = next(s.label for s in service.workflow.states if s.code == "submitted")
    assert state_breach["state_label"] == label.model_dump()

    inbox = await applications.get(
        "/api/v1/applications/inbox", headers=tokens.headers("officer", agency=AGENCY)
    )
    mine = [i for i in inbox.json()["items"] if i["id"] == created["id"]]
    assert mine and mine[0]["overdue"] is False, "not overdue by the wall clock yet"
    assert inbox.json()["open"] >= 1

    officer = tokens.headers("officer", agency=AGENCY)
    path = f"/api/v1/applications/{created['id']}/actions"
    await applications.post(
        f"{path}/request_revision", json={"note": "Kurang jelas."}, headers=officer
    )
    paused = await stored(engine, created["id"])
    assert paused.due_at is None and paused.paused_at is not None
    # Pretend the citizen took five working days to fix the documents.
    five_days_ago = calendar.add(paused.paused_at, 0) - dt.timedelta(days=9)
    async with engine.begin() as connection:
        await connection.execute(
            update(store.applications)
            .where(store.applications.c.id == created["id"])
            .values(paused_at=five_days_ago)
        )
    paused_days = calendar.between(five_days_ago, dt.datetime.now(dt.UTC))
    await applications.post(
        f"{path}/resubmit", headers=tokens.headers("citizen", subject="citizen-l")
    )
    resumed = await stored(engine, created["id"])
    assert resumed.overall_due_at == calendar.add(first.overall_due_at, paused_days)


async def test_services_that_issue_on_expiry_complete_by_themselves(
    applications: httpx.AsyncClient,
    engine: AsyncEngine,
    tokens: Tokens,
    upload: Callable[..., Any],
    feed: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    service = published_service(workflow=review_workflow(2, auto_issue=True))
    await feed(catalog_event(service))
    calendar = WorkingCalendar(applications_settings.timezone)
    created = (await apply(applications, tokens, upload, service, "citizen-m")).json()
    found = await stored(engine, created["id"])
    await rules.check_clocks(
        engine, calendar=calendar, now=found.overall_due_at + dt.timedelta(minutes=1)
    )
    done = await applications.get(
        f"/api/v1/applications/{created['id']}",
        headers=tokens.headers("citizen", subject="citizen-m"),
    )
    assert done.json()["state"]["code"] == "completed"
    assert done.json()["history"][-1]["action"] == "auto_complete"


async def test_text_with_a_nul_character_is_refused_not_a_failure(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    service = await publish_service()
    in_form = await apply(
        applications, tokens, upload, service, "citizen-nul", form=FORM | {"child_name": "An\0di"}
    )
    in_path = await applications.get("/api/v1/track/SNJ%00UJI")
    for answer in (in_form, in_path):
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"] == "Teks tidak boleh memuat karakter NUL."
