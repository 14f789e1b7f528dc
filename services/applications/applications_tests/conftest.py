"""The applications app in-process on the real store and bus, its catalog read model fed with
catalog events as the catalog would publish them, and citizens' documents as the documents
service would announce them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import citizens_view, store
from applications.app import create_app
from applications.models import StoredApplication
from applications.settings import Settings
from mpp_shared import events, topics
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.contracts.documents import DocumentUploaded
from mpp_shared.contracts.identity import CitizenRegistered, CitizenUpdated
from mpp_shared.kafka import by_type
from mpp_shared.testing import Databases, Tokens, feeder, in_process, settings_for

AGENCY = "UJI"


def review_workflow(sla_days: int = 3, *, auto_issue: bool = False) -> dict[str, Any]:
    """The catalog's `review` template as it is published (see catalog/workflows.py)."""
    staff = ["officer", "agency_admin"]

    def state(code: str, **flags: Any) -> dict[str, Any]:
        return {"code": code, "label": {"id": code, "en": code}, **flags}

    def action(
        code: str, sources: list[str], target: str, roles: list[str], **flags: Any
    ) -> dict[str, Any]:
        return {
            "code": code,
            "label": {"id": code, "en": code},
            "from_states": sources,
            "to_state": target,
            "roles": roles,
            **flags,
        }

    return {
        "initial_state": "submitted",
        "sla_days": sla_days,
        "auto_issue_on_expiry": auto_issue,
        "states": [
            state("submitted", sla_days=1),
            state("in_review", sla_days=sla_days - 1),
            state("revision_requested", pauses_sla=True, documents_replaceable=True),
            state("approved", sla_days=0),
            state("completed", terminal=True),
            state("rejected", terminal=True),
            state("cancelled", terminal=True),
        ],
        "actions": [
            action("start_review", ["submitted"], "in_review", staff),
            action(
                "request_revision",
                ["submitted", "in_review"],
                "revision_requested",
                staff,
                requires_note=True,
            ),
            action("resubmit", ["revision_requested"], "submitted", ["citizen"]),
            action("approve", ["in_review"], "approved", staff),
            action("complete", ["approved"], "completed", [*staff, "system"]),
            action("reject", ["submitted", "in_review"], "rejected", staff, requires_note=True),
            action("cancel", ["submitted", "revision_requested"], "cancelled", ["citizen"]),
        ],
    }


FORM_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "child_name": {"type": "string", "minLength": 2, "title": "Nama anak"},
        "birth_date": {"type": "string", "format": "date", "title": "Tanggal lahir"},
        "weight_grams": {"type": "integer", "minimum": 300, "maximum": 8000},
    },
    "required": ["child_name", "birth_date"],
    "additionalProperties": False,
}


def published_service(**changes: Any) -> ServicePublished:
    """A published online service of the test agency (a birth certificate), version 1."""
    slug = changes.pop("slug", f"akta-uji-{secrets.token_hex(3)}")
    values: dict[str, Any] = {
        "service_id": f"svc-{slug}",
        "slug": slug,
        "version": 1,
        "agency": AGENCY,
        "category": "civil_status",
        "name": {"id": "Akta Kelahiran Uji", "en": "Test Birth Certificate"},
        "channels": ["online"],
        "requirements": [
            {
                "code": "surat_lahir",
                "name": {"id": "Surat keterangan lahir", "en": "Birth letter"},
                "document_kinds": ["letter"],
            },
            {
                "code": "buku_nikah",
                "name": {"id": "Buku nikah", "en": "Marriage book"},
                "document_kinds": ["certificate"],
                "mandatory": False,
            },
        ],
        "form_schema": FORM_SCHEMA,
        "workflow": review_workflow(),
        "fee_amount": 0,
        "electronic_output": True,
        "published_at": datetime.now(UTC),
    }
    return ServicePublished.model_validate(values | changes)


def agency_facts(
    code: str = AGENCY, *, counters: list[dict[str, Any]] | None = None, version: int = 1
) -> AgencyUpserted:
    return AgencyUpserted(
        agency_id=f"agency-{code}",
        code=code,
        name={"id": f"Dinas {code}", "en": f"Office {code}"},  # type: ignore[arg-type]
        kind="regional_office",
        version=version,
        counters=counters or [],
    )


@pytest.fixture(scope="session")
def applications_settings(namespace: str) -> Settings:
    return settings_for(
        Settings,
        namespace,
        clock_check_seconds=3600,  # tests run the clocks themselves
    )


@pytest.fixture(scope="session")
async def applications(
    applications_settings: Settings, tokens: Tokens, postgres: Databases, kafka: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The applications API in-process; `applications.app` is the FastAPI app."""
    async with in_process(
        create_app(applications_settings), base_url="http://applications", tokens=tokens
    ) as client:
        yield client


@pytest.fixture
def engine(applications: httpx.AsyncClient) -> AsyncEngine:
    """The running service's database."""
    found: AsyncEngine = applications.app.state.runtime.engine  # type: ignore[attr-defined]
    return found


def catalog_event(data: ServicePublished | AgencyUpserted) -> events.Event:
    kind = (
        "catalog.service.published.v1"
        if isinstance(data, ServicePublished)
        else "catalog.agency.upserted.v1"
    )
    subject = data.service_id if isinstance(data, ServicePublished) else data.agency_id
    return events.new_event(
        type=kind, source=topics.source_of("catalog"), subject=subject, data=data
    )


@pytest.fixture
def feed(applications: httpx.AsyncClient) -> Callable[..., Any]:
    """Hand events to the service's consumer handlers, as if they came from Kafka."""
    return feeder(applications)


@pytest.fixture
def publish_service(feed: Callable[..., Any]) -> Callable[..., Any]:
    """Publish a service (and its agency) into the read model; returns the ServicePublished."""

    async def publish(**changes: Any) -> ServicePublished:
        service = published_service(**changes)
        await feed(catalog_event(agency_facts(service.agency)), catalog_event(service))
        return service

    return publish


@pytest.fixture
def upload(feed: Callable[..., Any]) -> Callable[..., Any]:
    """A document of a citizen that passed the documents service's checks; returns its id."""

    async def make(owner: str, requirement: str | None = None) -> str:
        document_id = f"doc-{secrets.token_hex(6)}"
        await feed(
            events.new_event(
                type="documents.document.uploaded.v1",
                source=topics.source_of("documents"),
                subject=document_id,
                data=DocumentUploaded(
                    document_id=document_id,
                    owner=owner,
                    content_type="application/pdf",
                    size=1234,
                    sha256="0" * 64,
                    requirement=requirement,
                ),
            )
        )
        return document_id

    return make


def citizen_event(citizen_id: str, name: str, *, registered: bool = True) -> events.Event:
    """A citizen's registration (or change) as the gateway announces it."""
    model = CitizenRegistered if registered else CitizenUpdated
    return events.new_event(
        type=f"identity.citizen.{'registered' if registered else 'updated'}.v1",
        source=topics.source_of("gateway"),
        subject=citizen_id,
        data=model(citizen_id=citizen_id, name=name, phone="+6281234567890", phone_verified=True),
    )


@pytest.fixture
def tell_identity(applications: httpx.AsyncClient) -> Callable[..., Any]:
    """Hand identity events to the service's handlers of them, through its inbox, as if they
    came from Kafka."""

    async def give(*sent: events.Event) -> None:
        runner = applications.app.state.runtime.consumer  # type: ignore[attr-defined]
        handlers = by_type(citizens_view.HANDLERS)
        for event in sent:
            await runner.apply(handlers[event.type], event)

    return give


def stored_application(**changes: Any) -> StoredApplication:
    """An application of the test agency as the workflow leaves it, submitted three days ago;
    `changes` override any field."""
    now = datetime.now(UTC)
    agency = changes.get("agency", AGENCY)
    service_id = changes.get("service_id", f"svc-{secrets.token_hex(3)}")
    values: dict[str, Any] = {
        "id": f"app-{secrets.token_hex(8)}",
        "tracking_number": f"SNJ-{agency}-{now:%Y%m%d}-{secrets.token_hex(6)}",
        "check_code": "K7QX4M",
        "citizen_id": f"c-{secrets.token_hex(4)}",
        "service_id": service_id,
        "service_version": 1,
        "service_slug": service_id.removeprefix("svc-"),
        "agency": agency,
        "state": "in_review",
        "open": True,
        "form": {},
        "documents": {},
        "submitted_at": now - timedelta(days=3),
        "updated_at": now,
        "state_entered_at": now,
        "state_due_at": None,
        "overall_due_at": now + timedelta(days=2),
        "due_at": now + timedelta(days=2),
        "paused_at": None,
        "completed_at": None,
        "breaches": [],
        "escalated": False,
        "version": 5,
        "request_fingerprint": None,
        "history": [],
    }
    return StoredApplication.model_validate(values | changes)


async def insert_application(engine: AsyncEngine, application: StoredApplication) -> str:
    """Store an application as it is (no events); returns its id."""
    async with engine.begin() as connection:
        assert await store.insert(connection, application, idempotency_key=None, new_events=[])
    return application.id
