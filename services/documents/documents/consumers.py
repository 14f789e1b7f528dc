"""What the documents service learns from other services' events: requirement limits and names
from the catalog, citizens' names from identity, and from applications which agency may read which
documents and when an output is due."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minio import Minio

from documents import issuing, service, store
from documents.settings import Settings
from mpp_shared.contracts.applications import (
    ApplicationApproved,
    ApplicationCompleted,
    ApplicationStatusChanged,
    ApplicationSubmitted,
)
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.contracts.identity import CitizenContact
from mpp_shared.events import Event
from mpp_shared.kafka import DirectPublisher, Handler

Db = store.Db


def handlers(
    db: Db, s3: Minio, settings: Settings, pins: DirectPublisher, wake: Callable[[], None]
) -> dict[str, Handler]:
    """Handlers by event type; each is idempotent, so a redelivered event changes nothing."""

    async def published(event: Event) -> None:
        facts = ServicePublished.model_validate(event.data)
        for requirement in facts.requirements:
            limits = {"max_size_mb": requirement.max_size_mb, "formats": requirement.formats}
            for service_ref in (facts.slug, facts.service_id):
                await db[store.LIMITS].replace_one(
                    {"_id": f"{service_ref}:{requirement.code}"}, limits, upsert=True
                )
        await _name(db, f"service:{facts.service_id}", facts.name.model_dump())
        await issue_waiting()

    async def agency(event: Event) -> None:
        facts = AgencyUpserted.model_validate(event.data)
        await _name(db, f"agency:{facts.code}", facts.name.model_dump())

    async def citizen(event: Event) -> None:
        facts = CitizenContact.model_validate(event.data)
        await _name(db, f"citizen:{facts.citizen_id}", {"name": facts.name})
        await issue_waiting()

    async def submitted(event: Event) -> None:
        facts = ApplicationSubmitted.model_validate(event.data)
        await service.attach(
            db,
            document_ids=facts.document_ids,
            application_id=facts.application_id,
            agency=facts.agency,
        )

    async def status_changed(event: Event) -> None:
        facts = ApplicationStatusChanged.model_validate(event.data)
        await service.attach(
            db,
            document_ids=facts.document_ids,
            application_id=facts.application_id,
            agency=facts.agency,
        )

    async def decided(event: Event) -> None:
        facts = _decision(event.type, event.data)
        if not facts.electronic_output:
            return
        try:
            issued = await issuing.issue(db, s3, settings=settings, pins=pins, facts=facts)
        except issuing.NamesNotKnown:
            await store.wait_for_names(db, facts.application_id, event.type, dict(event.data))
            return
        if issued:
            wake()

    async def issue_waiting() -> None:
        """Issue the outputs that waited for the name just read."""
        for waiting in await store.waiting(db):
            facts = _decision(waiting["type"], waiting["data"])
            try:
                issued = await issuing.issue(db, s3, settings=settings, pins=pins, facts=facts)
            except issuing.NamesNotKnown:
                continue
            await store.done_waiting(db, waiting["_id"])
            if issued:
                wake()

    return {
        "catalog.service.published.v1": published,
        "catalog.agency.upserted.v1": agency,
        "identity.citizen.registered.v1": citizen,
        "identity.citizen.updated.v1": citizen,
        "applications.application.submitted.v1": submitted,
        "applications.application.status_changed.v1": status_changed,
        "applications.application.approved.v1": decided,
        "applications.application.completed.v1": decided,
    }


def _decision(event_type: str, data: Any) -> ApplicationApproved | ApplicationCompleted:
    model = ApplicationApproved if event_type.endswith("approved.v1") else ApplicationCompleted
    return model.model_validate(data)


async def _name(db: Db, key: str, value: dict[str, Any]) -> None:
    await db[store.NAMES].replace_one({"_id": key}, value, upsert=True)
