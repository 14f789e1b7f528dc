"""Administering message templates on the real store: defaults, versions with If-Match, preview."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from mpp_shared import db, problems
from mpp_shared.auth import AuthSettings, TokenVerifier
from mpp_shared.testing import Databases, Tokens
from notifications import messages
from notifications import store as messages_store
from notifications.contacts import store as contacts
from notifications.models import Contact
from notifications.templates import api, defaults, placeholders, store
from notifications.templates import service as templates
from notifications.templates.models import Template, TemplateInput

from ..conftest import citizen, event, notifications_settings, own_database, submitted

SUBMITTED = "applications.application.submitted.v1"
OTP = "identity.otp.requested.v1"
BREACHED = "applications.application.sla_breached.v1"  # its only default is e-mail
BASE = "/api/v1/notifications/templates"


@pytest.fixture(scope="module")
async def engine(postgres: Databases, namespace: str) -> AsyncIterator[AsyncEngine]:
    """A database of its own, so saved versions never change other tests' messages."""
    async with own_database(postgres, namespace, "templates") as (_, engine):
        await templates.ensure_defaults(engine)
        yield engine


async def current(engine: AsyncEngine, template: str) -> Template | None:
    async with engine.connect() as connection:
        return await store.find(connection, template)


@pytest.fixture(scope="module")
async def client(engine: AsyncEngine, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    problems.install(app)
    app.include_router(api.router)
    app.state.runtime = SimpleNamespace(engine=engine)
    app.state.token_verifier = TokenVerifier(AuthSettings(jwks=tokens.jwks))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as c:
        yield c


@pytest.fixture(scope="module")
def admin(tokens: Tokens) -> dict[str, str]:
    return tokens.headers("mpp_admin", subject="admin-templates")


async def test_defaults_are_saved_once_and_never_over_an_administrators_version(
    engine: AsyncEngine,
) -> None:
    assert await templates.ensure_defaults(engine) == 0, "the fixture saved them already"
    async with engine.connect() as connection:
        saved = await store.list_current(connection)
    assert len([t for t in saved if t.origin == "default"]) == len(list(defaults.each()))
    otp = store.template_id(OTP, "sms", "en")
    async with db.transaction(engine) as connection:
        await templates.save(
            connection,
            event_type=OTP,
            channel="sms",
            language="en",
            data=TemplateInput(text="Code {{ event.code }}. Share it with nobody."),
            if_match=1,
            author="admin-1",
        )
    assert await templates.ensure_defaults(engine) == 0
    found = await current(engine, otp)
    assert found is not None
    assert (found.version, found.origin) == (2, "admin")


async def test_defaults_saved_by_two_replicas_at_once_are_saved_once(
    postgres: Databases, namespace: str
) -> None:
    async with own_database(postgres, namespace, "defaults") as (_, engine):
        saved = await asyncio.gather(*(templates.ensure_defaults(engine) for _ in range(2)))
        assert sorted(saved) == [0, len(list(defaults.each()))]


async def test_a_reworded_default_replaces_the_untouched_old_one(engine: AsyncEngine) -> None:
    template = store.template_id(SUBMITTED, "push", "en")
    async with db.transaction(engine) as connection:
        await connection.execute(
            update(store.template_versions)
            .where(store.template_versions.c.template_id == template)
            .values(text="Old words")
        )
    assert await templates.ensure_defaults(engine) == 1
    found = await current(engine, template)
    assert found is not None
    assert found.origin == "default"
    wanted = next(d for d in defaults.DEFAULTS if (d.event_type, d.channel) == (SUBMITTED, "push"))
    assert found.text == wanted.en
    assert found.version == 2


async def test_an_administrator_reads_a_template_with_its_version_as_etag(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get(f"{BASE}/{SUBMITTED}/sms/id", headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert body["origin"] == "default"
    assert "{{ event.tracking_number }}" in body["text"]

    listed = await client.get(BASE, params={"event_type": SUBMITTED}, headers=admin)
    assert {t["channel"] for t in listed.json()} == {"email", "sms", "inbox", "push"}
    sms = await client.get(BASE, params={"channel": "sms"}, headers=admin)
    assert {t["channel"] for t in sms.json()} == {"sms"}
    assert len({t["event_type"] for t in sms.json()}) > 5


async def test_only_mpp_administrators_see_templates(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    assert (await client.get(BASE)).status_code == 401
    officer = tokens.headers("officer", agency="DISDUKCAPIL")
    assert (await client.get(BASE, headers=officer)).status_code == 403
    put = await client.put(f"{BASE}/{BREACHED}/inbox/id", json={"text": "x"}, headers=officer)
    assert put.status_code == 403


async def test_saving_needs_the_version_edited_and_keeps_every_version(
    client: httpx.AsyncClient, admin: dict[str, str], engine: AsyncEngine
) -> None:
    url = f"{BASE}/{BREACHED}/inbox/id"
    first = {"subject": "Terlambat", "text": "{{ event.tracking_number }} melewati batas waktu."}
    created = await client.put(url, json=first, headers=admin)
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'

    second = {"subject": "Terlambat", "text": "{{ event.tracking_number }}: batas waktu lewat."}
    missing = await client.put(url, json=second, headers=admin)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    saved = await client.put(url, json=second, headers=admin | {"If-Match": '"1"'})
    assert saved.status_code == 200
    assert saved.json()["version"] == 2
    assert saved.json()["saved_by"] == "admin-templates"
    assert saved.headers["ETag"] == '"2"'

    again = await client.put(url, json=second, headers=admin | {"If-Match": '"1"'})
    assert again.status_code == 200, "a retried save answers like the first"
    assert again.json()["version"] == 2

    third = {"subject": None, "text": "Batas waktu {{ event.tracking_number }} lewat."}
    stale = await client.put(url, json=third, headers=admin | {"If-Match": '"1"'})
    assert stale.status_code == 412
    garbled = await client.put(url, json=third, headers=admin | {"If-Match": "version two"})
    assert garbled.status_code == 400

    versions = await client.get(f"{url}/versions", headers=admin)
    assert [v["version"] for v in versions.json()] == [2, 1]
    assert versions.json()[1]["text"] == first["text"]
    one = await client.get(f"{url}/versions", params={"limit": 1}, headers=admin)
    assert [v["version"] for v in one.json()] == [2]

    context = placeholders.sample_context(BREACHED)
    async with engine.connect() as connection:
        rendered = await templates.render(
            connection, event_type=BREACHED, channel="inbox", language="id", context=context
        )
    assert rendered is not None
    assert rendered.template_version == 2
    assert rendered.text == f"{placeholders.TRACKING_NUMBER}: batas waktu lewat."
    assert rendered.subject == "Terlambat"


async def test_of_two_saves_from_the_same_version_one_wins(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    url = f"{BASE}/{BREACHED}/sms/id"
    first = await client.put(url, json={"text": "{{ event.tracking_number }} lewat"}, headers=admin)
    assert first.status_code == 201
    answers = await asyncio.gather(
        *(
            client.put(
                url,
                json={"text": f"{{{{ event.tracking_number }}}} lewat ({n})"},
                headers=admin | {"If-Match": '"1"'},
            )
            for n in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 412, 412, 412]
    current = await client.get(url, headers=admin)
    assert current.json()["version"] == 2


async def test_a_template_in_english_falls_back_to_indonesian_when_missing(
    engine: AsyncEngine,
) -> None:
    async with db.transaction(engine) as connection:
        await templates.save(
            connection,
            event_type=BREACHED,
            channel="push",
            language="id",
            data=TemplateInput(subject="Terlambat", text="{{ event.tracking_number }}"),
            if_match=None,
            author="admin-1",
        )
    context = placeholders.sample_context(BREACHED, language="en")
    async with engine.connect() as connection:
        rendered = await templates.render(
            connection, event_type=BREACHED, channel="push", language="en", context=context
        )
        missing = await templates.render(
            connection, event_type=BREACHED, channel="whatsapp", language="en", context=context
        )
    assert rendered is not None
    assert rendered.subject == "Terlambat"
    assert missing is None


async def test_unknown_placeholders_are_refused_in_the_callers_language(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    url = f"{BASE}/{BREACHED}/push/en"
    body = {"subject": "Late", "text": "NIK {{ event.nik }}, {{ recipient.phone }}"}
    refused = await client.put(url, json=body, headers=admin | {"Accept-Language": "en"})
    assert refused.status_code == 422
    problem = refused.json()
    assert [e["field"] for e in problem["errors"]] == ["text", "text"]
    assert "unknown placeholder `{{ event.nik }}`" in problem["errors"][0]["message"]
    assert "event.breached_due_at" in problem["placeholders"]
    indonesian = await client.put(url, json=body, headers=admin)
    assert "tidak dikenal" in indonesian.json()["errors"][0]["message"]
    assert (await client.get(url, headers=admin)).status_code == 404

    syntax = await client.put(url, json={"subject": "{{ oops", "text": "x"}, headers=admin)
    assert syntax.status_code == 422
    assert syntax.json()["errors"][0]["field"] == "subject"

    unknown = await client.put(f"{BASE}/nope.v1/email/en", json=body, headers=admin)
    assert unknown.status_code == 422
    wrong_channel = await client.put(f"{BASE}/{BREACHED}/fax/en", json=body, headers=admin)
    assert wrong_channel.status_code == 422


async def test_preview_renders_given_text_or_the_current_template_with_sample_values(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    url = f"{BASE}/preview"
    given = await client.post(
        url,
        json={
            "event_type": SUBMITTED,
            "channel": "sms",
            "text": "{{ event.tracking_number }} pada {{ event.due_at|tanggal }}",
        },
        headers=admin,
    )
    assert given.status_code == 200, given.text
    assert given.json()["text"] == f"{placeholders.TRACKING_NUMBER} pada 27 November 2026"
    assert given.json()["template_version"] is None
    assert "event.tracking_number" in given.json()["placeholders"]

    saved = await client.post(
        url,
        json={
            "event_type": OTP,
            "channel": "sms",
            "language": "id",
            "context": {"event": {"purpose": "reset_password", "code": "111222"}},
        },
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    preview = saved.json()
    assert preview["template_version"] == 1
    assert preview["text"].startswith("Kode reset kata sandi MPP Elektronik")
    assert "111222" in preview["text"]
    assert preview["characters"] == len(preview["text"])

    email = await client.post(
        url, json={"event_type": SUBMITTED, "channel": "email", "language": "en"}, headers=admin
    )
    assert email.json()["subject"] == f"Application {placeholders.TRACKING_NUMBER} received"

    refused = await client.post(
        url,
        json={"event_type": SUBMITTED, "channel": "sms", "text": "{{ ''.__class__ }}"},
        headers=admin,
    )
    assert refused.status_code == 422
    nothing = await client.post(
        url, json={"event_type": BREACHED, "channel": "push", "language": "en"}, headers=admin
    )
    assert nothing.status_code == 404


async def test_the_next_message_uses_the_version_just_saved_through_the_api(
    client: httpx.AsyncClient, admin: dict[str, str], engine: AsyncEngine, namespace: str
) -> None:
    # Planning reads an event's templates in its own transaction: never an older version.
    settings = notifications_settings(namespace)
    person = citizen(language="en", email=None)
    async with db.transaction(engine) as connection:
        await contacts.save_contact(
            connection, Contact.model_validate(person.model_dump()), as_of=datetime.now(UTC)
        )

    async def planned_sms() -> str:
        submission = event(SUBMITTED, "app", submitted(person.citizen_id), "applications")
        async with db.transaction(engine) as connection:
            assert await messages.plan(connection, settings, submission) > 0
            planned = await messages_store.messages_of_event(connection, submission.id)
        return next(m.text for m in planned if m.channel == "sms")

    url = f"{BASE}/{SUBMITTED}/sms/en"
    assert "(edited" not in await planned_sms()
    for edit in ("edited once", "edited twice"):
        current = await client.get(url, headers=admin)
        saved = await client.put(
            url,
            json={"text": f"Received: {{{{ event.tracking_number }}}} ({edit})."},
            headers=admin | {"If-Match": current.headers["ETag"]},
        )
        assert saved.status_code == 200, saved.text
        assert (await planned_sms()).endswith(f"({edit}).")
