"""Every handler of other services' events, on the real PostgreSQL: an event delivered twice
changes nothing, and a decision arriving together with the names it needs is still issued."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import httpx

from documents import store
from documents.outputs import store as outputs_store
from mpp_shared.contracts.applications import (
    ApplicationApproved,
    ApplicationCompleted,
    ApplicationStatusChanged,
    ApplicationSubmitted,
)
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.contracts.identity import CitizenRegistered, CitizenUpdated
from mpp_shared.events import Event
from mpp_shared.testing import Tokens

from ..conftest import AGENCY, citizen_id, engine_of, event, now, pdf_bytes


def published(service_id: str, *, max_size_mb: int, name: str = "Akta Kelahiran") -> Event:
    facts = ServicePublished.model_validate(
        {
            "service_id": service_id,
            "slug": f"slug-{service_id}",
            "version": max_size_mb,
            "agency": AGENCY,
            "category": "civil_status",
            "name": {"id": name, "en": f"{name} (en)"},
            "channels": ["online"],
            "requirements": [
                {
                    "code": "ktp",
                    "name": {"id": "KTP", "en": "ID card"},
                    "document_kinds": ["id_card"],
                    "max_size_mb": max_size_mb,
                    "formats": ["pdf"],
                }
            ],
            "form_schema": None,
            "workflow": None,
            "fee_amount": 0,
            "electronic_output": True,
            "published_at": now(),
        }
    )
    return event("catalog.service.published.v1", service_id, facts, "catalog")


def agency(code: str, name: str) -> Event:
    facts = AgencyUpserted(
        agency_id=f"id-{code}",
        code=code,
        name={"id": name, "en": name},  # type: ignore[arg-type]
        kind="regional_office",
        version=1,
    )
    return event("catalog.agency.upserted.v1", facts.agency_id, facts, "catalog")


def citizen(owner: str, name: str, *, kind: str = "registered") -> Event:
    model = CitizenRegistered if kind == "registered" else CitizenUpdated
    facts = model(citizen_id=owner, name=name, phone="+6281234567890", phone_verified=True)
    return event(f"identity.citizen.{kind}.v1", owner, facts, "gateway")


def decision(owner: str, service_id: str, *, kind: str = "approved") -> Event:
    facts: dict[str, Any] = {
        "application_id": f"app-{secrets.token_hex(4)}",
        "tracking_number": f"SNJ-{AGENCY}-20261127-{secrets.randbelow(999999):06d}",
        "service_id": service_id,
        "service_version": 1,
        "agency": AGENCY,
        "citizen_id": owner,
        "state": kind,
        "electronic_output": True,
    }
    model = ApplicationApproved if kind == "approved" else ApplicationCompleted
    return event(
        f"applications.application.{kind}.v1",
        facts["application_id"],
        model.model_validate(facts),
        "applications",
    )


async def names(documents: httpx.AsyncClient, owner: str, service_id: str) -> outputs_store.Names:
    async with engine_of(documents).connect() as connection:
        return await outputs_store.names(
            connection, service_id=service_id, agency=AGENCY, citizen_id=owner
        )


async def output_of(documents: httpx.AsyncClient, application_id: str) -> Any:
    from mpp_shared.idempotency import derived_id

    async with engine_of(documents).connect() as connection:
        return await outputs_store.output(connection, derived_id(application_id, "output"))


async def test_a_service_published_twice_changes_nothing(
    documents: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    service_id = f"svc-{secrets.token_hex(3)}"
    first = published(service_id, max_size_mb=1, name="Lama")
    await feed(first, published(service_id, max_size_mb=2, name="Baru"), first)
    async with engine_of(documents).connect() as connection:
        limits = await store.limits(connection, f"slug-{service_id}", "ktp")
    assert limits == store.Limits(max_size_mb=2, formats=["pdf"])
    found = await names(documents, citizen_id(), service_id)
    assert found.service is not None and found.service.id == "Baru"


async def test_an_agency_upserted_twice_changes_nothing(
    documents: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    first = agency(AGENCY, "Dinas Lama")
    await feed(first, agency(AGENCY, "Dinas Kependudukan"), first)
    found = await names(documents, citizen_id(), "svc")
    assert found.agency is not None and found.agency.id == "Dinas Kependudukan"


async def test_a_citizen_registered_or_updated_twice_changes_nothing(
    documents: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    registered = citizen(owner, "Nama Lama")
    updated = citizen(owner, "Nama Baru", kind="updated")
    await feed(registered, updated, registered, updated)
    assert (await names(documents, owner, "svc")).holder == "Nama Baru"


async def test_a_submission_or_status_change_delivered_twice_attaches_once(
    documents: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    created = (
        await documents.post(
            "/api/v1/documents",
            files={"file": ("a.pdf", pdf_bytes())},
            headers=tokens.headers("citizen", subject=owner),
        )
    ).json()
    facts: dict[str, Any] = {
        "application_id": f"app-{secrets.token_hex(4)}",
        "tracking_number": "SNJ-DISDUKCAPIL-20261127-000002",
        "service_id": "svc",
        "service_version": 1,
        "agency": AGENCY,
        "citizen_id": owner,
        "document_ids": [created["id"]],
    }
    submitted = event(
        "applications.application.submitted.v1",
        facts["application_id"],
        ApplicationSubmitted(**facts, state="submitted"),
        "applications",
    )
    changed = event(
        "applications.application.status_changed.v1",
        facts["application_id"],
        ApplicationStatusChanged(
            **facts, state="verified", from_state="submitted", action="verify", actor_role="officer"
        ),
        "applications",
    )
    await feed(submitted, submitted, changed, changed)
    async with engine_of(documents).connect() as connection:
        document = await store.find(connection, created["id"])
    assert document is not None
    assert (document.attached, document.agencies) == (True, (AGENCY,))


async def test_a_decision_delivered_twice_issues_one_output(
    documents: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    service_id = f"svc-{secrets.token_hex(3)}"
    await feed(published(service_id, max_size_mb=1), citizen(owner, "Andi Baso"))
    approved = decision(owner, service_id)
    completed = decision(owner, service_id, kind="completed")
    await feed(approved, completed)
    first = await output_of(documents, approved.subject)
    await feed(approved, completed)
    assert first is not None
    assert await output_of(documents, approved.subject) == first
    assert await output_of(documents, completed.subject) is not None


async def test_a_decision_and_the_names_it_needs_arriving_together_issue_the_output(
    documents: httpx.AsyncClient, feed: Callable[..., Any]
) -> None:
    """Two consumers (or replicas) apply them side by side: whichever commits first, the
    output is issued, never left waiting for a name that has arrived."""
    service_id = f"svc-{secrets.token_hex(3)}"
    await feed(published(service_id, max_size_mb=1))
    decisions = []

    async def later(seconds: float, *events: Event) -> None:
        await asyncio.sleep(seconds)
        await feed(*events)

    # The name arrives a little later each round, so some round lands in the gap between the
    # decision finding no name and the decision being put aside.
    for round in range(16):
        owner = citizen_id()
        approved = decision(owner, service_id)
        decisions.append(approved)
        await asyncio.gather(feed(approved), later(round / 1000, citizen(owner, "Siti Aminah")))
    for approved in decisions:
        assert await output_of(documents, approved.subject) is not None
    async with engine_of(documents).connect() as connection:
        waiting = {w.application_id for w in await outputs_store.waiting(connection)}
    assert not waiting & {d.subject for d in decisions}
