"""Issued outputs on the real S3 server: issued once when an application is approved, verified by
code by anyone, downloaded with the holder's PIN, a tampered PDF failing, revocation shown."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from pypdf import PdfReader

from documents.outputs import store as outputs_store
from documents.settings import Settings
from mpp_shared.contracts.applications import (
    OUTPUT_CONTENT_KIND,
    ApplicationApproved,
    ApplicationCompleted,
    OutputContent,
)
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.contracts.identity import CitizenRegistered
from mpp_shared.pii import Vault
from mpp_shared.settings import DEVELOPMENT_SECRET
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import AGENCY, citizen_id, engine_of, event, now


async def approve(
    feed: Callable[..., Any],
    owner: str,
    *,
    name: str = "Siti Aminah Daeng",
    decision_first: bool = False,
    output: OutputContent | None = None,
) -> ApplicationApproved:
    service_id = f"svc-{secrets.token_hex(3)}"
    service = ServicePublished.model_validate(
        {
            "service_id": service_id,
            "slug": f"akta-{service_id}",
            "version": 1,
            "agency": AGENCY,
            "category": "civil_status",
            "name": {"id": "Akta Kelahiran", "en": "Birth Certificate"},
            "channels": ["online"],
            "requirements": [],
            "form_schema": None,
            "workflow": None,
            "fee_amount": 0,
            "electronic_output": True,
            "published_at": now(),
        }
    )
    agency = AgencyUpserted(
        agency_id="a1",
        code=AGENCY,
        name={"id": "Dinas Kependudukan dan Pencatatan Sipil", "en": "Civil Registry"},  # type: ignore[arg-type]
        kind="regional_office",
        version=1,
    )
    citizen = CitizenRegistered(
        citizen_id=owner, name=name, phone="+6281234567890", phone_verified=True
    )
    approved = ApplicationApproved(
        application_id=f"app-{secrets.token_hex(4)}",
        tracking_number=f"SNJ-{AGENCY}-20261127-{secrets.randbelow(999999):06d}",
        service_id=service_id,
        service_version=1,
        agency=AGENCY,
        citizen_id=owner,
        state="approved",
        electronic_output=True,
    )
    if output is not None:  # sealed as the applications service seals it, with the same key
        vault = Vault(DEVELOPMENT_SECRET, kind=OUTPUT_CONTENT_KIND)
        sealed = vault.encrypt(output.model_dump_json(), context=approved.application_id)
        approved = approved.model_copy(update={"output_sealed": sealed})
    names = [
        event("catalog.service.published.v1", service_id, service, "catalog"),
        event("catalog.agency.upserted.v1", "a1", agency, "catalog"),
        event("identity.citizen.registered.v1", owner, citizen, "gateway"),
    ]
    decision = event(
        "applications.application.approved.v1", approved.application_id, approved, "applications"
    )
    await feed(*([decision, *names] if decision_first else [*names, decision]))
    return approved


async def pin_of(settings: Settings, output_id: str) -> str:
    def pins(records: list[Any]) -> list[str]:
        found = (json.loads(r.value) for r in records)
        return [e["data"]["pin"] for e in found if e["subject"] == output_id]

    seen = await read_topic(KAFKA, settings.topic("documents.pins"), until=lambda r: bool(pins(r)))
    return pins(seen)[-1]


async def test_an_approved_application_gets_one_signed_output_anyone_can_verify(
    documents: httpx.AsyncClient,
    tokens: Tokens,
    settings: Settings,
    feed: Callable[..., Any],
    direct: httpx.AsyncClient,
) -> None:
    owner = citizen_id()
    approved = await approve(feed, owner)
    holder = tokens.headers("citizen", subject=owner)
    path = f"/api/v1/documents/outputs?application_id={approved.application_id}"
    first = await documents.get(path, headers=holder)
    assert first.status_code == 200, first.text
    completed = ApplicationCompleted(**approved.model_dump(exclude={"state"}), state="completed")
    await feed(
        event(
            "applications.application.completed.v1",
            approved.application_id,
            completed,
            "applications",
        )
    )
    output = (await documents.get(path, headers=holder)).json()
    assert output == first.json(), "issued once"

    public = await documents.get(f"/api/v1/verify/{output['verification_code'].lower()}")
    assert public.status_code == 200
    facts = public.json()
    assert (facts["status"], facts["holder"], facts["tracking_number"]) == (
        "valid",
        "S*** A***** D****",
        approved.tracking_number,
    )
    assert "Siti" not in public.text

    pin = await pin_of(settings, output["id"])
    wrong = "000000" if pin != "000000" else "111111"
    refused = await documents.post(
        f"/api/v1/verify/{output['verification_code']}/download", json={"pin": wrong}
    )
    assert (refused.status_code, refused.json()["attempts_left"]) == (
        403,
        settings.pin_attempts - 1,
    )
    link = await documents.post(
        f"/api/v1/verify/{output['verification_code']}/download", json={"pin": pin}
    )
    assert link.status_code == 200, link.text
    pdf = (await direct.get(link.json()["url"])).content
    text = PdfReader(__import__("io").BytesIO(pdf)).pages[0].extract_text()
    assert "Siti Aminah Daeng" in text and approved.tracking_number in text

    genuine = await documents.post(
        f"/api/v1/verify/{output['verification_code']}/check", files={"file": ("a.pdf", pdf)}
    )
    assert genuine.json()["authentic"] is True
    tampered = (
        pdf.replace(b"Siti Aminah Daeng", b"Siti Aminah Dxeng")
        if b"Siti Aminah Daeng" in pdf
        else pdf[:-10] + b"0" * 10
    )
    forged = await documents.post(
        f"/api/v1/verify/{output['verification_code']}/check", files={"file": ("a.pdf", tampered)}
    )
    assert forged.json()["authentic"] is False

    def ours(records: list[Any]) -> list[str]:
        found = (json.loads(r.value) for r in records)
        return [e["type"] for e in found if e["subject"] == output["id"]]

    seen = await read_topic(
        KAFKA, settings.topic("documents.events"), until=lambda r: bool(ours(r))
    )
    assert ours(seen) == ["documents.output.issued.v1"]
    assert pin.encode() not in b"".join(
        r.value for r in seen if json.loads(r.value)["subject"] == output["id"]
    )


async def test_revocation_shows_on_the_verification_page(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    approved = await approve(feed, owner)
    output = (
        await documents.get(
            f"/api/v1/documents/outputs?application_id={approved.application_id}",
            headers=tokens.headers("citizen", subject=owner),
        )
    ).json()
    citizen_tries = await documents.post(
        f"/api/v1/documents/outputs/{output['id']}/revoke",
        json={"reason": "Data salah"},
        headers=tokens.headers("citizen", subject=owner),
    )
    assert citizen_tries.status_code == 404
    other_agency = await documents.post(
        f"/api/v1/documents/outputs/{output['id']}/revoke",
        json={"reason": "Data salah"},
        headers=tokens.headers("agency_admin", agency="SAMSAT"),
    )
    assert other_agency.status_code == 404
    revoked = await documents.post(
        f"/api/v1/documents/outputs/{output['id']}/revoke",
        json={"reason": "Data kelahiran salah ketik"},
        headers=tokens.headers("agency_admin", agency=AGENCY),
    )
    assert revoked.status_code == 200, revoked.text
    public = await documents.get(f"/api/v1/verify/{output['verification_code']}")
    assert (public.json()["status"], public.json()["revoked_reason"]) == (
        "revoked",
        "Data kelahiran salah ketik",
    )
    assert (await documents.get("/api/v1/verify/ABCD-EFGH-JKMN")).status_code == 404
    assert (await documents.get("/api/v1/verify/not a code")).status_code == 404


async def test_too_many_wrong_pins_lock_the_download(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    approved = await approve(feed, owner)
    holder = tokens.headers("citizen", subject=owner)
    output = (
        await documents.get(
            f"/api/v1/documents/outputs?application_id={approved.application_id}", headers=holder
        )
    ).json()
    pin = await pin_of(settings, output["id"])
    wrong = "000000" if pin != "000000" else "111111"
    code = output["verification_code"]
    for _ in range(settings.pin_attempts):
        await documents.post(f"/api/v1/verify/{code}/download", json={"pin": wrong})
    locked = await documents.post(f"/api/v1/verify/{code}/download", json={"pin": pin})
    assert (locked.status_code, locked.json()["reason"]) == (429, "pin-locked")
    fresh = await documents.post(f"/api/v1/documents/outputs/{output['id']}/pin", headers=holder)
    unlocked = await documents.post(
        f"/api/v1/verify/{code}/download", json={"pin": fresh.json()["pin"]}
    )
    assert unlocked.status_code == 200


async def test_a_decision_read_before_the_names_it_needs_is_issued_when_they_arrive(
    documents: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    """Topics are read side by side: the approval may come before the catalog's or identity's
    event. The output waits for them instead of failing into the dead-letter queue."""
    owner = citizen_id()
    approved = await approve(feed, owner, name="Andi Baso", decision_first=True)
    holder = tokens.headers("citizen", subject=owner)
    mine = await documents.get(
        f"/api/v1/documents/outputs?application_id={approved.application_id}", headers=holder
    )
    assert mine.status_code == 200, mine.text
    async with engine_of(documents).connect() as connection:
        waiting = await outputs_store.waiting(connection)
    assert approved.application_id not in [w.application_id for w in waiting]
    public = await documents.get(f"/api/v1/verify/{mine.json()['verification_code']}")
    assert public.json()["holder"] == "A*** B***"


async def test_concurrent_wrong_pins_are_counted_one_by_one(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    approved = await approve(feed, owner)
    output = (
        await documents.get(
            f"/api/v1/documents/outputs?application_id={approved.application_id}",
            headers=tokens.headers("citizen", subject=owner),
        )
    ).json()
    pin = await pin_of(settings, output["id"])
    wrong = "000000" if pin != "000000" else "111111"
    guesses = await asyncio.gather(
        *(
            documents.post(
                f"/api/v1/verify/{output['verification_code']}/download", json={"pin": wrong}
            )
            for _ in range(settings.pin_attempts * 2)
        )
    )
    statuses = sorted(g.status_code for g in guesses)
    assert statuses == [403] * settings.pin_attempts + [429] * settings.pin_attempts
    left = sorted(g.json()["attempts_left"] for g in guesses if g.status_code == 403)
    assert left == list(range(settings.pin_attempts))


async def test_of_two_concurrent_revocations_one_is_recorded(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    approved = await approve(feed, owner)
    staff = tokens.headers("agency_admin", agency=AGENCY)
    output = (
        await documents.get(
            f"/api/v1/documents/outputs?application_id={approved.application_id}", headers=staff
        )
    ).json()
    first, second = await asyncio.gather(
        *(
            documents.post(
                f"/api/v1/documents/outputs/{output['id']}/revoke",
                json={"reason": reason},
                headers=staff,
            )
            for reason in ("Data salah ketik", "Nama salah")
        )
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == second.json()["status"] == "revoked"
    public = (await documents.get(f"/api/v1/verify/{output['verification_code']}")).json()
    assert public["revoked_reason"] in ("Data salah ketik", "Nama salah")

    def revoked(records: list[Any]) -> list[str]:
        found = (json.loads(r.value) for r in records)
        return [
            e["data"]["reason"]
            for e in found
            if e["subject"] == output["id"] and e["type"] == "documents.output.revoked.v1"
        ]

    await asyncio.sleep(1)  # both transactions committed before answering; the relay is quick
    seen = await read_topic(
        KAFKA, settings.topic("documents.events"), until=lambda r: bool(revoked(r))
    )
    assert revoked(seen) == [public["revoked_reason"]]
