"""The volume loader (`benchmarks/seed_volume.py`) at a tiny scale on the real servers: the
counts it promises and the invariants benchmarks rely on, in a namespace of this test run."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import answers, catalog_view, documents_view, forms, numbers
from applications import store as applications_store
from applications.bookings import store as bookings_store
from applications.settings import Settings as ApplicationsSettings
from applications.surveys import store as surveys_store
from catalog import store as catalog_store
from documents import store as documents_store
from documents.outputs import store as outputs_store
from mpp_shared import db
from mpp_shared.contracts.catalog import ServicePublished
from mpp_shared.formats import parse_nik
from mpp_shared.local import postgres_port
from notifications import store as notifications_store
from notifications.contacts import store as contacts_store

pytestmark = pytest.mark.integration

SCALE = 0.01  # 600 applications, 400 citizens
TODAY = dt.date(2026, 11, 2)
TRACKING = re.compile(r"^SNJ-[A-Z][A-Z0-9-]*-\d{8}-\d{6}$")


def _loader() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "seed_volume.py"
    spec = importlib.util.spec_from_file_location("seed_volume", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["seed_volume"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


seed_volume = _loader()


class Loaded:
    """The loaded namespace: the loader's counts and an engine per service."""

    def __init__(self, counts: dict[str, int], engines: dict[str, AsyncEngine]) -> None:
        self.counts = counts
        self.engines = engines

    async def rows(self, service: str, query: Any) -> list[Any]:
        async with self.engines[service].connect() as connection:
            return list((await connection.execute(query)).all())

    async def scalar(self, service: str, query: Any) -> Any:
        async with self.engines[service].connect() as connection:
            return (await connection.execute(query)).scalar_one()


@pytest.fixture(scope="module")
async def loaded(postgres: Any, namespace: str) -> AsyncIterator[Loaded]:
    """A tiny year loaded into `<run namespace>_vol_*` (the run's clean-up drops it too)."""
    volume = f"{namespace}_vol"
    counts = await seed_volume.load(namespace=volume, scale=SCALE, today=TODAY)
    space = seed_volume.Namespace(volume)
    engines = {s.service_name: db.create_engine(s) for s in space.loaded}
    yield Loaded(counts, engines)
    for engine in engines.values():
        await engine.dispose()
    await seed_volume.drop(volume)


async def test_the_loader_makes_the_promised_volume_at_scale(loaded: Loaded) -> None:
    counts = loaded.counts
    applications = counts["applications"]
    assert applications == round(60_000 * SCALE)
    assert counts["citizens"] == round(40_000 * SCALE)
    assert counts["contacts"] == counts["citizens"] == counts["citizen_names"]
    assert counts["applicant_names"] == counts["citizens"], "the officers' inbox shows names"
    assert counts["handled_applications"] == applications, "the gateway knows who handles whom"
    # About 150,000 documents and 500,000 messages per 60,000 applications.
    assert 1.8 * applications <= counts["documents"] <= 3.3 * applications
    assert 6 * applications <= counts["messages"] <= 11 * applications
    states = dict(
        await loaded.rows(
            "applications",
            select(applications_store.applications.c.state, func.count()).group_by(
                applications_store.applications.c.state
            ),
        )
    )
    assert states["completed"] > 0.75 * applications
    assert states.get("rejected", 0) + states.get("cancelled", 0) > 0
    completed = states["completed"]
    assert 0.2 * completed <= counts["surveys"] <= 0.5 * completed
    assert counts["complaints"] <= 0.03 * applications
    assert counts["bookings"] > 0 and counts["outputs"] > 0


async def test_every_application_refers_to_a_version_in_the_catalog_read_model(
    loaded: Loaded,
) -> None:
    versions = {
        (r.service_id, r.version): ServicePublished.model_validate(r.snapshot)
        for r in await loaded.rows("applications", select(catalog_view.catalog_service_versions))
    }
    applications = await loaded.rows(
        "applications",
        select(
            applications_store.applications.c.id,
            applications_store.applications.c.service_id,
            applications_store.applications.c.service_version,
            applications_store.applications.c.state,
            applications_store.applications.c.form,
        ),
    )
    published = await loaded.scalar(
        "catalog",
        select(func.count())
        .select_from(catalog_store.services)
        .where(catalog_store.services.c.status == "published"),
    )
    held = await loaded.scalar(
        "applications", select(func.count()).select_from(catalog_view.catalog_services)
    )
    assert held == published > 100
    vault = answers.vault_of(ApplicationsSettings())
    sealed = 0
    for application_id, service_id, version, state, form in applications:
        service = versions[(service_id, version)]
        assert service.workflow is not None
        assert state in {s.code for s in service.workflow.states}
        if service.form_schema:
            # NIKs are sealed as the service stores them, and open to what was typed.
            fields = answers.sensitive_fields(service.form_schema)
            present = fields & set(form)
            assert all(set(form[name]) == {"sealed"} for name in present), form
            sealed += len(present)
            opened = answers.reveal(form, fields=fields, vault=vault, application_id=application_id)
            assert forms.problems(service.form_schema, opened) == []
    assert sealed > 0


async def test_every_document_link_points_at_an_existing_application(loaded: Loaded) -> None:
    applications = {
        r.id: (r.citizen_id, r.documents)
        for r in await loaded.rows(
            "applications",
            select(
                applications_store.applications.c.id,
                applications_store.applications.c.citizen_id,
                applications_store.applications.c.documents,
            ),
        )
    }
    links = await loaded.rows("documents", select(documents_store.document_links))
    assert links
    assert {link.application_id for link in links} <= set(applications)
    owners = dict(
        await loaded.rows(
            "documents", select(documents_store.documents.c.id, documents_store.documents.c.owner)
        )
    )
    known = {
        r.document_id: r.owner
        for r in await loaded.rows("applications", select(documents_view.citizen_documents))
    }
    linked = {(link.document_id, link.application_id) for link in links}
    for application_id, (citizen_id, attached) in applications.items():
        for ids in attached.values():
            for document_id in ids:
                assert owners[document_id] == known[document_id] == citizen_id
                assert (document_id, application_id) in linked
    outputs = await loaded.rows("documents", select(outputs_store.outputs.c.application_id))
    assert {o.application_id for o in outputs} <= set(applications)


async def test_tracking_numbers_are_unique_and_their_series_continue_after_the_load(
    loaded: Loaded,
) -> None:
    numbers_taken = [
        r.tracking_number
        for r in await loaded.rows(
            "applications", select(applications_store.applications.c.tracking_number)
        )
    ]
    assert len(numbers_taken) == len(set(numbers_taken))
    assert all(TRACKING.match(n) for n in numbers_taken)
    last = dict(await loaded.rows("applications", select(numbers.number_counters)))
    highest: dict[str, int] = {}
    for number in numbers_taken:
        series, _, sequence = number.rpartition("-")
        highest[series] = max(highest.get(series, 0), int(sequence))
    for series, sequence in highest.items():
        assert last[series] == sequence  # the next submission that day takes sequence + 1


async def test_open_applications_have_a_due_date_unless_waiting_for_the_citizen(
    loaded: Loaded,
) -> None:
    c = applications_store.applications.c
    open_ones = await loaded.rows(
        "applications",
        select(c.state, c.due_at, c.overall_due_at, c.paused_at, c.submitted_at).where(c.open),
    )
    assert open_ones
    for state, due_at, overall_due_at, paused_at, submitted_at in open_ones:
        assert overall_due_at >= submitted_at
        if paused_at is None:
            assert due_at is not None, state
        else:
            assert state == "revision_requested" and due_at is None


async def test_nothing_loaded_waits_to_be_sent_or_relayed(loaded: Loaded) -> None:
    waiting = await loaded.scalar(
        "notifications",
        select(func.count())
        .select_from(notifications_store.messages)
        .where(notifications_store.messages.c.next_attempt_at.is_not(None)),
    )
    assert waiting == 0
    inbox = await loaded.scalar(
        "notifications",
        select(func.count(notifications_store.messages.c.citizen_id.distinct())).where(
            notifications_store.messages.c.channel == "inbox"
        ),
    )
    contacts = await loaded.scalar(
        "notifications", select(func.count()).select_from(contacts_store.contacts)
    )
    assert 0 < inbox <= contacts
    seats = await loaded.scalar(
        "applications", select(func.count()).select_from(bookings_store.booking_seats)
    )
    booked = await loaded.scalar(
        "applications",
        select(func.count())
        .select_from(bookings_store.bookings)
        .where(bookings_store.bookings.c.state == "booked"),
    )
    assert seats == booked
    surveyed = await loaded.rows(
        "applications",
        select(
            surveys_store.surveys.c.submitted_at, applications_store.applications.c.completed_at
        ).join(
            applications_store.applications,
            applications_store.applications.c.id == surveys_store.surveys.c.application_id,
        ),
    )
    assert all(survey_at > completed_at for survey_at, completed_at in surveyed)


async def test_the_same_seed_and_day_give_the_same_year(loaded: Loaded, namespace: str) -> None:
    again = f"{namespace}_vol2"
    counts = await seed_volume.load(namespace=again, scale=SCALE, today=TODAY)
    try:
        assert counts == loaded.counts
        engine = db.create_engine(seed_volume.Namespace(again).applications)
        c = applications_store.applications.c
        query = select(c.id, c.tracking_number, c.state, c.due_at).order_by(c.id)
        try:
            async with engine.connect() as connection:
                second = list((await connection.execute(query)).all())
        finally:
            await engine.dispose()
        assert second == await loaded.rows("applications", query)
    finally:
        await seed_volume.drop(again)


@pytest.mark.skipif(not seed_volume.gateway_ready(), reason="the gateway keeps no PostgreSQL yet")
async def test_citizens_sign_in_at_the_gateway_by_nik_or_phone(
    loaded: Loaded, namespace: str
) -> None:
    from gateway.identity import nik as niks
    from gateway.identity import phones, sessions
    from gateway.identity import store as identity_store
    from gateway.identity.accounts import Identity
    from gateway.settings import Settings as GatewaySettings

    settings = GatewaySettings(namespace=f"{namespace}_vol", postgres_port=postgres_port())
    engine = db.create_engine(settings)
    try:
        identity = Identity.create(engine=engine, settings=settings, send_otp=None)
        async with engine.connect() as connection:
            citizens = (
                await connection.execute(
                    select(identity_store.accounts).where(
                        identity_store.accounts.c.kind == "citizen"
                    )
                )
            ).all()
        assert len(citizens) == loaded.counts["citizens"]
        for citizen in citizens:
            nik = niks.parse(identity.niks.decrypt(citizen.nik_encrypted))
            assert nik.region.startswith("7307")
            assert phones.normalise(citizen.phone) == citizen.phone
        first = citizens[0]
        by_nik = await sessions.sign_in(
            identity,
            username=identity.niks.decrypt(first.nik_encrypted),
            password=seed_volume.PASSWORD,
        )
        by_phone = await sessions.sign_in(
            identity, username=first.phone, password=seed_volume.PASSWORD
        )
        assert by_nik.access_token and by_phone.access_token
    finally:
        await engine.dispose()


def test_the_niks_drawn_for_benchmark_forms_pass_the_forms_nik_rule() -> None:
    """`make bench` fills forms' NIK fields with them: a NIK the forms refuse stops the bench."""
    drawn = {seed_volume.form_nik(f"citizen-{i}") for i in range(2000)}
    assert len(drawn) > 1990
    for nik in drawn:
        parse_nik(nik, today=TODAY)
    assert seed_volume.form_nik("citizen-1") == seed_volume.form_nik("citizen-1")
