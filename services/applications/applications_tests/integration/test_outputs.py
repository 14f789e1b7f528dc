"""What the issued document will print, sent with the decision; and the application's page
linking to its document once the documents service has issued it. Real store and Kafka."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from applications import answers
from applications.settings import Settings
from mpp_shared import events, topics
from mpp_shared.contracts.documents import OutputIssued, OutputRevoked
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import AGENCY

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "child_name": {"type": "string", "x-input": "string"},
        "birth_date": {"type": "string", "format": "date", "x-input": "date"},
        "sex": {
            "type": "string",
            "enum": ["l", "p"],
            "x-options": [
                {"value": "l", "label": {"id": "Laki-laki", "en": "Male"}},
                {"value": "p", "label": {"id": "Perempuan", "en": "Female"}},
            ],
        },
        "father_name": {"type": "string"},
        "mother_nik": {"type": "string", "x-input": "nik"},
    },
    "required": ["child_name", "birth_date", "sex", "mother_nik"],
    "additionalProperties": False,
}
FORM = {
    "child_name": "Siti Nurḥalizah",
    "birth_date": "2026-11-20",
    "sex": "p",
    "mother_nik": "7307015506900001",
}


def label(text: str) -> dict[str, str]:
    return {"id": text, "en": text.upper()}


OUTPUT = {
    "title": {"id": "Kutipan Akta Kelahiran", "en": "Birth Certificate (Extract)"},
    "fields": [
        {"source": "form", "key": "child_name", "label": label("Nama anak")},
        {"source": "form", "key": "birth_date", "label": label("Tanggal lahir")},
        {"source": "form", "key": "sex", "label": label("Jenis kelamin")},
        {"source": "form", "key": "father_name", "label": label("Nama ayah")},
        {"source": "form", "key": "mother_nik", "label": label("NIK ibu")},
        {"source": "applicant", "key": "name", "label": label("Pelapor")},
    ],
}


async def approved_application(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    citizen: str,
) -> str:
    service = await publish_service(form_schema=SCHEMA, output=OUTPUT)
    document = await upload(citizen, "surat_lahir")
    created = await applications.post(
        "/api/v1/applications",
        json={"service": service.slug, "form": FORM, "documents": {"surat_lahir": [document]}},
        headers=tokens.headers("citizen", subject=citizen),
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/applications/{created.json()['id']}/actions"
    officer = tokens.headers("officer", subject="officer-9", agency=AGENCY)
    for action in ("start_review", "approve"):
        done = await applications.post(f"{path}/{action}", headers=officer)
        assert done.status_code == 200, done.text
    return str(created.json()["id"])


async def test_the_approval_carries_what_the_document_prints_sealed_in_order_and_no_nik(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    applications_settings: Settings,
) -> None:
    application_id = await approved_application(
        applications, tokens, upload, publish_service, "citizen-out-1"
    )

    def approvals(records: list[Any]) -> list[dict[str, Any]]:
        found = (json.loads(r.value) for r in records)
        return [
            e["data"]
            for e in found
            if e["subject"] == application_id and e["type"].endswith(".approved.v1")
        ]

    seen = await read_topic(
        KAFKA,
        applications_settings.topic("applications.events"),
        until=lambda r: bool(approvals(r)),
    )
    [approved] = approvals(seen)
    # Sealed for the documents service: the topic's other readers see none of the answers.
    assert "Siti" not in json.dumps(approved) and "Perempuan" not in json.dumps(approved)
    opened = answers.output_vault_of(applications_settings).decrypt(
        approved["output_sealed"], context=application_id
    )
    output = json.loads(opened)
    assert output["title"] == OUTPUT["title"]
    assert [(line["label"]["id"], line["value"], line["kind"]) for line in output["lines"]] == [
        ("Nama anak", "Siti Nurḥalizah", "text"),
        ("Tanggal lahir", "2026-11-20", "date"),
        ("Jenis kelamin", "Perempuan", "text"),  # the choice's label, not its code
        ("Nama ayah", "", "text"),  # not answered
        ("NIK ibu", "", "text"),  # a NIK travels in no event
        ("Pelapor", "", "holder_name"),
    ]
    assert "7307015506900001" not in opened


async def test_the_application_links_to_its_document_once_issued(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    feed: Callable[..., Any],
) -> None:
    citizen = "citizen-out-2"
    application_id = await approved_application(
        applications, tokens, upload, publish_service, citizen
    )
    holder = tokens.headers("citizen", subject=citizen)
    path = f"/api/v1/applications/{application_id}"
    before = await applications.get(path, headers=holder)
    assert before.json()["output"] is None

    output_id = f"out-{secrets.token_hex(4)}"
    issued = events.new_event(
        OutputIssued(
            output_id=output_id,
            application_id=application_id,
            tracking_number=before.json()["tracking_number"],
            citizen_id=citizen,
            service_id=before.json()["service_id"],
            agency=AGENCY,
            verification_code="K7QM-3XRT-9HWA",
            issued_at=dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC),
        ),
        source=topics.source_of("documents"),
        subject=output_id,
    )
    await feed(issued, issued)  # twice changes nothing

    link = (await applications.get(path, headers=holder)).json()["output"]
    assert link == {
        "output_id": output_id,
        "verification_code": "K7QM-3XRT-9HWA",
        "status": "valid",
        "issued_at": "2026-12-05T01:00:00Z",
        "download_url": f"/api/v1/documents/outputs/{output_id}/content",
        "verify_url": "/verify/K7QM-3XRT-9HWA",
    }

    revoked = events.new_event(
        OutputRevoked(
            output_id=output_id,
            application_id=application_id,
            verification_code="K7QM-3XRT-9HWA",
            reason="Salah ketik",
        ),
        source=topics.source_of("documents"),
        subject=output_id,
    )
    await feed(revoked, revoked)
    after = (await applications.get(path, headers=holder)).json()["output"]
    assert after["status"] == "revoked"


def test_production_refuses_the_development_key_for_what_outputs_print() -> None:
    with pytest.raises(ValidationError, match="MPP_OUTPUT_CONTENT_KEY"):
        Settings(
            environment="production",
            secret_key=SecretStr("s" * 32),
            postgres_password=SecretStr("p" * 16),
            pii_key=SecretStr("k" * 32),
        )
