"""The heart of the mall through the gateway on the real deployables: a citizen applies with
documents, the officer sends it back, the citizen fixes it, the officer approves and completes;
every step is an event on Kafka. And who may see and do what."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx

from mpp_shared.testing import KAFKA, eventually, mailbox, read_topic, sms_address

from .conftest import Platform, register_citizen, run_async, staff_member, upload_document

SERVICE = "akta-kelahiran"  # Disdukcapil's birth certificate: online, review workflow
FORM = {
    "child_name": "Nur Aisyah",
    "birth_date": "2026-11-20",
    "birth_place": "Sinjai",
    "sex": "p",
    "mother_nik": "7307015506900001",
}


def apply(platform: Platform, citizen: dict[str, Any], **changes: Any) -> httpx.Response:
    """Submit a birth-certificate application, waiting for the read models to catch up."""
    documents = {
        code: [upload_document(platform, citizen, code)]
        for code in ("surat_keterangan_lahir", "kk")
    }
    body = {"service": SERVICE, "form": FORM, "documents": documents} | changes
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(
            f"{platform.gateway}/api/v1/applications",
            json=body,
            headers=citizen["headers"] | {"Idempotency-Key": f"e2e-{citizen['id']}"},
            timeout=10,
        )
        # The catalog's and documents' events may still be on their way to the read models.
        if response.status_code not in (404, 422) or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_apply_send_back_resubmit_approve_complete_with_events(platform: Platform) -> None:
    citizen = register_citizen(platform, "Rahmawati")
    officer = staff_member(platform, "officer", "DISDUKCAPIL")
    submitted = apply(platform, citizen)
    assert submitted.status_code == 201, submitted.text
    application = submitted.json()
    assert application["tracking_number"].startswith("SNJ-DISDUKCAPIL-")
    path = f"{platform.gateway}/api/v1/applications/{application['id']}"

    def act(action: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{path}/actions/{action}", json=body or None, headers=headers, timeout=10
        )
        assert response.status_code == 200, (action, response.text)
        return dict(response.json())

    act("start_review", officer)
    act("request_revision", officer, note="KK tidak terbaca, unggah ulang.")
    fixed = upload_document(platform, citizen, "kk")
    deadline = time.monotonic() + 30
    while True:  # the new document's event must reach the applications service first
        response = httpx.post(
            f"{path}/actions/resubmit",
            json={"documents": {"kk": [fixed]}},
            headers=citizen["headers"],
            timeout=10,
        )
        if response.status_code != 422 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 200, response.text
    act("start_review", officer)
    act("approve", officer)
    completed = act("complete", officer)
    assert completed["state"]["code"] == "completed"

    deadline = time.monotonic() + 30
    while True:  # the documents service issues the output when it reads the approval
        output = httpx.get(
            f"{platform.gateway}/api/v1/documents/outputs",
            params={"application_id": application["id"]},
            headers=citizen["headers"],
        )
        if output.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert output.status_code == 200, output.text
    verified = httpx.get(
        f"{platform.gateway}/api/v1/verify/{output.json()['verification_code']}"
    ).json()
    assert (verified["status"], verified["holder"]) == ("valid", "R********")
    assert verified["tracking_number"] == application["tracking_number"]
    code = output.json()["verification_code"]

    async def pin_sms() -> list[str]:
        texts = [str(m["Text"]) for m in await mailbox(sms_address("+62" + citizen["phone"][1:]))]
        return [t for t in texts if code in t and "PIN" in t]

    [pin_text] = asyncio.run(eventually(pin_sms, timeout=60))
    pin = re.search(r"{}: (\d{{6}})\b".format(re.escape(application["tracking_number"])), pin_text)
    assert pin is not None, pin_text
    link = httpx.post(
        f"{platform.gateway}/api/v1/verify/{code}/download", json={"pin": pin.group(1)}
    )
    assert link.status_code == 200, "the PIN the citizen received unlocks the document"

    scores = {f"u{n}": 4 if n % 3 else 3 for n in range(1, 10)}  # six 4s and three 3s
    survey = httpx.post(
        f"{path}/survey",
        json={"scores": scores, "comment": "Cepat, tidak perlu antre."},
        headers=citizen["headers"],
    )
    assert survey.status_code == 201, survey.text
    again = httpx.post(f"{path}/survey", json={"scores": scores}, headers=citizen["headers"])
    assert again.status_code == 409, "one survey per application"
    ikm = httpx.get(f"{platform.gateway}/api/v1/surveys/ikm", params={"service": SERVICE}).json()
    assert ikm["respondents"] >= 1

    mine = httpx.get(f"{platform.gateway}/api/v1/applications", headers=citizen["headers"])
    assert [a["state"]["code"] for a in mine.json()["items"]] == ["completed"]
    track = f"{platform.gateway}/api/v1/track/{application['tracking_number']}"
    tracked = httpx.get(track, params={"code": application["check_code"]})
    assert tracked.json()["state"]["code"] == "completed"
    assert "Nur Aisyah" not in tracked.text
    assert httpx.get(track).status_code == 404, "the number alone tells a stranger nothing"
    assert httpx.get(track, headers=citizen["headers"]).status_code == 200, "its applicant"

    def ours(records: list[Any]) -> list[str]:
        found = (json.loads(r.value) for r in records)
        return [
            e["type"]
            for e in found
            if e["subject"] == application["id"]
            and e["type"].startswith("applications.application.")
        ]

    seen = asyncio.run(
        read_topic(
            KAFKA,
            f"{platform.env['MPP_NAMESPACE']}.applications.events",
            until=lambda r: len(ours(r)) >= 10,
        )
    )
    kinds = [t.split(".")[2] for t in ours(seen)]
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
    survey_events = [
        json.loads(r.value)
        for r in asyncio.run(
            read_topic(
                KAFKA,
                f"{platform.env['MPP_NAMESPACE']}.applications.events",
                until=lambda r: any(
                    json.loads(x.value)["type"] == "applications.survey.submitted.v1"
                    and json.loads(x.value)["data"]["application_id"] == application["id"]
                    for x in r
                ),
            )
        )
        if json.loads(r.value)["type"] == "applications.survey.submitted.v1"
    ]
    assert any(e["data"]["application_id"] == application["id"] for e in survey_events)
    text = b"".join(r.value for r in seen)
    assert citizen["nik"].encode() not in text and b"Nur Aisyah" not in text


def test_who_may_see_and_do_what_with_applications(platform: Platform) -> None:
    owner = register_citizen(platform, "Andi Baso")
    other = register_citizen(platform, "Budi Santoso")
    submitted = apply(platform, owner)
    assert submitted.status_code == 201, submitted.text
    path = f"{platform.gateway}/api/v1/applications/{submitted.json()['id']}"

    document_id = submitted.json()["documents"]["kk"][0]
    document = f"{platform.gateway}/api/v1/documents/{document_id}"
    assert httpx.get(document, headers=other["headers"]).status_code == 404
    assert httpx.get(document, headers=owner["headers"]).status_code == 200
    seen_by_other = httpx.get(path, headers=other["headers"])
    assert seen_by_other.status_code == 404, "another citizen's application is not even there"
    others_list = httpx.get(f"{platform.gateway}/api/v1/applications", headers=other["headers"])
    assert others_list.json()["items"] == []

    samsat_officer = staff_member(platform, "officer", "SAMSAT")
    assert httpx.get(path, headers=samsat_officer).status_code == 404
    acted = httpx.post(f"{path}/actions/start_review", headers=samsat_officer)
    assert acted.status_code == 404, "an officer acts only on their own agency's applications"

    viewer = staff_member(platform, "ops_viewer")
    assert httpx.get(path, headers=viewer).status_code == 200
    refused = httpx.post(f"{path}/actions/start_review", headers=viewer)
    assert refused.status_code == 403, "the operations viewer changes nothing"

    assert httpx.get(document, headers=samsat_officer).status_code == 404
    own_officer = staff_member(platform, "officer", "DISDUKCAPIL")
    assert httpx.post(f"{path}/actions/start_review", headers=own_officer).status_code == 200
    assert httpx.get(document, headers=own_officer).status_code == 200, (
        "the handling agency reads it"
    )
    admin = staff_member(platform, "mpp_admin")
    # Read straight at the service's port, past the gateway: audited all the same.
    direct = f"http://127.0.0.1:{platform.ports['applications']}" + path.removeprefix(
        platform.gateway
    )
    assert httpx.get(direct, headers=own_officer).status_code == 200

    async def audited_roles() -> set[str] | None:
        async with httpx.AsyncClient() as client:
            audit = await client.get(
                f"{platform.gateway}/api/v1/auth/audit", headers=admin, params={"limit": 100}
            )
        resource = path.removeprefix(platform.gateway)
        roles = {e["actor_role"] for e in audit.json()["items"] if e["resource"] == resource}
        # The services' lines come through Kafka: within moments.
        return roles if roles >= {"ops_viewer", "officer"} else None

    assert run_async(eventually(audited_roles, timeout=20)), "staff reads are audited"
