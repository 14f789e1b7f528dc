"""Sensitive form answers (NIKs typed in a form): stored encrypted, whole only for the applicant
and the handling agency's staff, masked for everyone else, in no event."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import store
from applications.models import Submission
from applications.settings import Settings
from mpp_shared import idempotency
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import AGENCY, insert_application, stored_application

OUTBOX = store.metadata.tables["outbox"]
NIK = {"type": "string", "pattern": "^[0-9]{16}$", "x-input": "nik"}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "child_name": {"type": "string", "minLength": 2},
        "mother_nik": NIK | {"x-sensitive": True},
        # As published before sensitive answers were marked: a NIK field all the same.
        "father_nik": NIK,
        "bank_account": {"type": "string", "x-sensitive": True},
        "birth_place": {"type": "string", "x-sensitive": False},
    },
    "required": ["child_name", "mother_nik"],
    "additionalProperties": False,
}


def new_nik() -> str:
    """A structurally valid NIK of the launch regency (a woman born in June 1990)."""
    return f"730701{41 + secrets.randbelow(28)}0690{1000 + secrets.randbelow(9000)}"


def masked(nik: str) -> str:
    return f"{nik[:4]}{'*' * 8}{nik[12:]}"


class Applied:
    """An application whose form holds a mother's and a father's NIK and a bank account."""

    def __init__(self, response: httpx.Response, form: dict[str, Any], service: Any) -> None:
        assert response.status_code == 201, response.text
        self.body = response.json()
        self.id: str = self.body["id"]
        self.path = f"/api/v1/applications/{self.id}"
        self.form = form
        self.service = service
        self.secrets = [form["mother_nik"], form["father_nik"], "1234567890"]


async def apply_with_niks(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    citizen: str,
) -> Applied:
    service = await publish_service(form_schema=SCHEMA)
    form = {
        "child_name": "Andi",
        "mother_nik": new_nik(),
        "father_nik": new_nik(),
        "bank_account": "BRI 1234567890",
        "birth_place": "Sinjai",
    }
    document = await upload(citizen, "surat_lahir")
    response = await applications.post(
        "/api/v1/applications",
        json={"service": service.slug, "form": form, "documents": {"surat_lahir": [document]}},
        headers=tokens.headers("citizen", subject=citizen),
    )
    return Applied(response, form, service)


async def test_a_nik_typed_in_a_form_is_stored_encrypted_not_in_clear(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    engine: AsyncEngine,
) -> None:
    citizen = f"citizen-{secrets.token_hex(4)}"
    applied = await apply_with_niks(applications, tokens, upload, publish_service, citizen)

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(store.applications).where(store.applications.c.id == applied.id)
            )
        ).one()
    stored = json.dumps(dict(row._mapping), default=str)
    for secret in applied.secrets:
        assert secret not in stored, "no sensitive answer in clear in the row"
    assert set(row.form["mother_nik"]) == set(row.form["father_nik"]) == {"sealed"}
    assert row.form["mother_nik"]["sealed"].startswith("k1:")
    assert (row.form["child_name"], row.form["birth_place"]) == ("Andi", "Sinjai")
    plain = idempotency.fingerprint(
        Submission(
            service=applied.service.slug,
            form=applied.form,
            documents=applied.body["documents"],
        )
    )
    assert row.request_fingerprint != plain, "an unkeyed digest of the form gives its NIK away"


async def test_the_applicant_and_the_handling_agencys_staff_see_the_nik_whole(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    citizen = f"citizen-{secrets.token_hex(4)}"
    applied = await apply_with_niks(applications, tokens, upload, publish_service, citizen)
    assert applied.body["form"] == applied.form, "the submission's answer shows what was typed"

    own = await applications.get(applied.path, headers=tokens.headers("citizen", subject=citizen))
    assert own.json()["form"] == applied.form
    for role in ("officer", "agency_admin"):
        seen = await applications.get(applied.path, headers=tokens.headers(role, agency=AGENCY))
        assert seen.status_code == 200, seen.text
        assert seen.json()["form"] == applied.form, role
    started = await applications.post(
        f"{applied.path}/actions/start_review", headers=tokens.headers("officer", agency=AGENCY)
    )
    assert started.json()["form"] == applied.form, "on an action's answer too"


async def test_partners_the_command_center_and_mall_admins_see_it_masked(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
) -> None:
    citizen = f"citizen-{secrets.token_hex(4)}"
    applied = await apply_with_niks(applications, tokens, upload, publish_service, citizen)
    expected = applied.form | {
        "mother_nik": masked(applied.form["mother_nik"]),
        "father_nik": masked(applied.form["father_nik"]),
        "bank_account": "**********7890",
    }
    partner = tokens.headers("partner", agency=AGENCY, scopes=["applications:read"])
    for who, headers in {
        "partner": partner,
        "ops_viewer": tokens.headers("ops_viewer"),
        "mpp_admin": tokens.headers("mpp_admin"),
    }.items():
        seen = await applications.get(applied.path, headers=headers)
        assert seen.status_code == 200, (who, seen.text)
        assert seen.json()["form"] == expected, who
        for secret in applied.secrets:
            assert secret not in seen.text, who

    others = await applications.get(applied.path, headers=tokens.headers("officer", agency="LAIN"))
    assert others.status_code == 404, "another agency does not see the application at all"
    another = await applications.get(applied.path, headers=tokens.headers("citizen"))
    assert another.status_code == 404


async def test_no_event_carries_a_sensitive_answer(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    upload: Callable[..., Any],
    publish_service: Callable[..., Any],
    engine: AsyncEngine,
    applications_settings: Settings,
) -> None:
    citizen = f"citizen-{secrets.token_hex(4)}"
    applied = await apply_with_niks(applications, tokens, upload, publish_service, citizen)
    officer = tokens.headers("officer", agency=AGENCY)
    for action in ("start_review", "approve"):
        done = await applications.post(f"{applied.path}/actions/{action}", headers=officer)
        assert done.status_code == 200, done.text

    # What the relay has not published yet (it deletes what it has) ...
    async with engine.connect() as connection:
        recorded = await connection.execute(
            select(OUTBOX.c.envelope).where(OUTBOX.c.subject == applied.id)
        )
        waiting = "".join(recorded.scalars())

    # ... and what it has: submitted, status changed twice, approved.
    def ours(records: list[Any]) -> list[bytes]:
        return [r.value for r in records if r.key == applied.id.encode()]

    seen = await read_topic(
        KAFKA,
        applications_settings.topic("applications.events"),
        until=lambda records: len(ours(records)) >= 4,
    )
    published = b"".join(ours(seen)).decode()
    assert "applications.application.approved.v1" in published
    for secret in applied.secrets:
        assert secret not in waiting
        assert secret not in published


async def test_an_application_stored_before_answers_were_sealed_is_read_as_it_is(
    applications: httpx.AsyncClient,
    tokens: Tokens,
    publish_service: Callable[..., Any],
    engine: AsyncEngine,
) -> None:
    service = await publish_service(form_schema=SCHEMA)
    nik = new_nik()
    old = stored_application(
        service_id=service.service_id,
        service_slug=service.slug,
        form={"child_name": "Budi", "mother_nik": nik},
    )
    path = f"/api/v1/applications/{await insert_application(engine, old)}"
    officer = await applications.get(path, headers=tokens.headers("officer", agency=AGENCY))
    assert officer.json()["form"] == {"child_name": "Budi", "mother_nik": nik}
    viewer = await applications.get(path, headers=tokens.headers("ops_viewer"))
    assert viewer.json()["form"] == {"child_name": "Budi", "mother_nik": masked(nik)}
