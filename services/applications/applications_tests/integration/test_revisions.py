"""Sending back names what must be fixed (requirements to replace, form fields to correct, each
with a note); the citizen's resubmission changes exactly that, and the history and the events
say what changed. On the real store and Kafka."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import store
from applications.settings import Settings
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import AGENCY
from .test_sensitive_answers import new_nik

FORM = {"child_name": "Andi Basso", "birth_date": "2026-11-01", "weight_grams": 3100}


class Case:
    """A submitted application, its officer and its citizen, in review."""

    def __init__(
        self, applications: httpx.AsyncClient, tokens: Tokens, citizen: str, body: dict[str, Any]
    ) -> None:
        self.applications = applications
        self.body = body
        self.path = f"/api/v1/applications/{body['id']}"
        self.citizen_id = citizen
        self.citizen = tokens.headers("citizen", subject=citizen)
        self.officer = tokens.headers("officer", subject="officer-r", agency=AGENCY)

    async def act(self, action: str, headers: dict[str, str], **body: Any) -> httpx.Response:
        return await self.applications.post(
            f"{self.path}/actions/{action}", json=body or None, headers=headers
        )

    async def send_back(self, **body: Any) -> httpx.Response:
        return await self.act("request_revision", self.officer, **body)

    async def resubmit(self, **body: Any) -> httpx.Response:
        return await self.act("resubmit", self.citizen, **body)


async def in_review(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    citizen: str,
    *,
    form: dict[str, Any] = FORM,
    **service: Any,
) -> Case:
    published = await publish_service(**service)
    document = await upload(citizen, "surat_lahir")
    response = await applications.post(
        "/api/v1/applications",
        json={"service": published.slug, "form": form, "documents": {"surat_lahir": [document]}},
        headers=tokens.headers("citizen", subject=citizen),
    )
    assert response.status_code == 201, response.text
    case = Case(applications, tokens, citizen, response.json())
    assert (await case.act("start_review", case.officer)).status_code == 200
    return case


NAMING_BOTH = [
    {"kind": "field", "name": "child_name", "note": "Nama anak salah eja: Andi Baso."},
    {"kind": "requirement", "name": "surat_lahir", "note": "Foto buram."},
]


def fields_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {e["field"] for e in response.json()["errors"]}


async def events_of(settings: Settings, application_id: str, count: int) -> list[dict[str, Any]]:
    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [e for e in (json.loads(r.value) for r in records) if e["subject"] == application_id]

    seen = await read_topic(
        KAFKA, settings.topic("applications.events"), until=lambda r: len(ours(r)) >= count
    )
    return ours(seen)


async def test_a_send_back_naming_a_field_and_a_requirement_is_fixed_in_one_resubmission(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    case = await in_review(applications, tokens, upload, publish_service, "citizen-rv1")
    sent_back = await case.send_back(revision=NAMING_BOTH)  # the items' notes are the note
    assert sent_back.status_code == 200, sent_back.text
    as_citizen = (await applications.get(case.path, headers=case.citizen)).json()
    assert as_citizen["revision"] == [
        {
            "kind": "field",
            "name": "child_name",
            "label": {"id": "Nama anak", "en": "Nama anak"},
            "note": "Nama anak salah eja: Andi Baso.",
        },
        {
            "kind": "requirement",
            "name": "surat_lahir",
            "label": {"id": "Surat keterangan lahir", "en": "Birth letter"},
            "note": "Foto buram.",
        },
    ]
    old_document = case.body["documents"]["surat_lahir"]
    new_document = await upload(case.citizen_id, "surat_lahir")
    fixed = await case.resubmit(
        form={"child_name": "  Andi Baso "}, documents={"surat_lahir": [new_document]}
    )
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert body["state"]["code"] == "submitted"
    assert body["form"] == FORM | {"child_name": "Andi Baso"}, "trimmed, the rest kept"
    assert body["documents"]["surat_lahir"] == [new_document]
    assert body["revision"] == [], "nothing is asked any more"
    line = body["history"][-1]
    assert line["action"] == "resubmit"
    assert line["changes"] == [
        {
            "kind": "field",
            "name": "child_name",
            "label": {"id": "Nama anak", "en": "Nama anak"},
            "old": "Andi Basso",
            "new": "Andi Baso",
            "sensitive": False,
        },
        {
            "kind": "requirement",
            "name": "surat_lahir",
            "label": {"id": "Surat keterangan lahir", "en": "Birth letter"},
            "old": old_document,
            "new": [new_document],
            "sensitive": False,
        },
    ]
    assert [i["name"] for i in body["history"][-2]["revision"]] == ["child_name", "surat_lahir"]
    as_officer = (await applications.get(case.path, headers=case.officer)).json()
    assert as_officer["form"]["child_name"] == "Andi Baso"
    assert as_officer["history"][-1]["changes"] == line["changes"]

    found = await events_of(applications_settings, case.body["id"], 5)
    [asked] = [e for e in found if e["type"].endswith(".revision_requested.v1")]
    assert asked["data"]["note"] == (
        "Nama anak: Nama anak salah eja: Andi Baso. Surat keterangan lahir: Foto buram."
    )
    assert [(i["kind"], i["name"], i["note"]) for i in asked["data"]["items"]] == [
        (i["kind"], i["name"], i["note"]) for i in NAMING_BOTH
    ]
    resubmitted = found[-1]
    assert resubmitted["type"].endswith(".status_changed.v1")
    assert resubmitted["data"]["action"] == "resubmit"
    assert resubmitted["data"]["changed_fields"] == ["child_name"]
    assert resubmitted["data"]["replaced_requirements"] == ["surat_lahir"]
    assert "Andi" not in json.dumps(resubmitted), "events name what changed, never the answers"


async def test_a_resubmission_may_change_only_what_the_send_back_named(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    case = await in_review(applications, tokens, upload, publish_service, "citizen-rv2")
    assert (await case.send_back(note="Perbaiki.", revision=NAMING_BOTH)).status_code == 200
    new_document = await upload(case.citizen_id, "surat_lahir")
    other_document = await upload(case.citizen_id, "buku_nikah")
    fixed_name: dict[str, Any] = {"child_name": "Andi Baso"}
    both: dict[str, Any] = {"form": fixed_name, "documents": {"surat_lahir": [new_document]}}
    too_much = fixed_name | {"weight_grams": 3000}

    unnamed_field = await case.resubmit(**both | {"form": too_much})
    assert fields_of(unnamed_field) == {"form.weight_grams"}
    [error] = unnamed_field.json()["errors"]
    assert error["message"] == "Petugas tidak meminta perbaikan isian ini."
    assert error["label"] == "weight_grams"
    in_english = await applications.post(
        f"{case.path}/actions/resubmit",
        json=both | {"form": too_much},
        headers=case.citizen | {"Accept-Language": "en"},
    )
    assert in_english.json()["errors"][0]["message"] == (
        "The officer did not ask to change this answer."
    )
    unnamed_document = await case.resubmit(
        **both | {"documents": {"surat_lahir": [new_document], "buku_nikah": [other_document]}}
    )
    assert fields_of(unnamed_document) == {"documents.buku_nikah"}
    left_out = await case.resubmit(form=fixed_name)
    assert fields_of(left_out) == {"documents.surat_lahir"}
    faulty = await case.resubmit(**both | {"form": {"child_name": "A"}})
    [error] = faulty.json()["errors"]
    assert (error["field"], error["label"]) == ("form.child_name", "Nama anak")
    assert "minimal 2" in error["message"]

    stored = (await applications.get(case.path, headers=case.citizen)).json()
    assert stored["state"]["code"] == "revision_requested", "nothing refused was kept"
    assert stored["form"] == FORM
    assert (await case.resubmit(**both)).status_code == 200


async def test_a_send_back_names_only_what_the_service_has(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    case = await in_review(applications, tokens, upload, publish_service, "citizen-rv3")
    unknown = await case.send_back(
        revision=[
            {"kind": "field", "name": "mother_name", "note": "?"},
            {"kind": "requirement", "name": "child_name", "note": "?"},
            {"kind": "field", "name": "child_name", "note": "Salah eja."},
            {"kind": "field", "name": "child_name"},
        ]
    )
    assert fields_of(unknown) == {"revision.0.name", "revision.1.name", "revision.3.name"}
    no_note = await case.send_back(revision=[{"kind": "field", "name": "child_name"}])
    assert fields_of(no_note) == {"note"}, "a note, general or for an item, is still required"
    not_a_send_back = await case.act(
        "approve", case.officer, revision=[{"kind": "field", "name": "child_name", "note": "x"}]
    )
    assert fields_of(not_a_send_back) == {"revision"}
    stored = (await applications.get(case.path, headers=case.officer)).json()
    assert stored["state"]["code"] == "in_review"


async def test_a_free_text_send_back_still_lets_documents_be_replaced_but_no_answer(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    case = await in_review(applications, tokens, upload, publish_service, "citizen-rv4")
    assert (await case.send_back(note="Surat lahir buram.")).status_code == 200
    as_citizen = (await applications.get(case.path, headers=case.citizen)).json()
    assert as_citizen["revision"] == []
    new_document = await upload(case.citizen_id, "surat_lahir")
    changed_answer = await case.resubmit(
        form={"child_name": "Budi"}, documents={"surat_lahir": [new_document]}
    )
    assert fields_of(changed_answer) == {"form.child_name"}
    fixed = await case.resubmit(documents={"surat_lahir": [new_document]})
    assert fixed.status_code == 200, fixed.text
    assert [c["name"] for c in fixed.json()["history"][-1]["changes"]] == ["surat_lahir"]


async def test_answers_cannot_be_changed_outside_a_send_back(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    case = await in_review(applications, tokens, upload, publish_service, "citizen-rv5")
    sneaked = await case.act("approve", case.officer, form={"child_name": "Budi"})
    assert sneaked.status_code == 409
    assert sneaked.json()["reason"] == "documents-locked"
    stored = (await applications.get(case.path, headers=case.officer)).json()
    assert stored["form"] == FORM


async def test_a_corrected_nik_is_sealed_and_its_history_says_only_that_it_changed(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    engine: AsyncEngine,
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "child_name": {"type": "string", "minLength": 2},
            "mother_nik": {
                "type": "string",
                "format": "nik",
                "x-input": "nik",
                "x-label": {"id": "NIK ibu", "en": "Mother's NIK"},
            },
        },
        "required": ["child_name", "mother_nik"],
        "additionalProperties": False,
    }
    old_nik, new = new_nik(), new_nik()
    case = await in_review(
        applications,
        tokens,
        upload,
        publish_service,
        "citizen-rv6",
        form={"child_name": "Andi", "mother_nik": old_nik},
        form_schema=schema,
    )
    revision = [{"kind": "field", "name": "mother_nik", "note": "NIK ibu tidak cocok dengan KK."}]
    assert (await case.send_back(revision=revision)).status_code == 200
    typed = f"{new[:6]} {new[6:12]} {new[12:]}"
    fixed = await case.resubmit(form={"mother_nik": typed})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["form"]["mother_nik"] == new, "the applicant sees it whole"
    assert fixed.json()["history"][-1]["changes"] == [
        {
            "kind": "field",
            "name": "mother_nik",
            "label": {"id": "NIK ibu", "en": "Mother's NIK"},
            "old": None,
            "new": None,
            "sensitive": True,
        }
    ]
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(store.applications.c.form).where(store.applications.c.id == case.body["id"])
            )
        ).one()
        history = (
            await connection.execute(
                select(store.application_history).where(
                    store.application_history.c.application_id == case.body["id"]
                )
            )
        ).all()
    assert new not in json.dumps(row.form) and "sealed" in row.form["mother_nik"]
    kept = json.dumps([dict(line._mapping) for line in history], default=str)
    assert new not in kept and old_nik not in kept
