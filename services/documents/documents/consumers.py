"""What the documents service learns from other services' events: requirement limits and names
from the catalog, citizens' names from identity, and from applications which agency may read which
documents and when an output is due.

Each handler runs in the transaction that records the event in the inbox, so a redelivered event
changes nothing.
"""

from __future__ import annotations

from typing import Any

from minio import Minio
from sqlalchemy.ext.asyncio import AsyncConnection

from documents import issuing, store
from documents.outputs import store as outputs_store
from documents.settings import Settings
from mpp_shared import contracts, topics
from mpp_shared.contracts.applications import (
    ApplicationApproved,
    ApplicationCompleted,
    ApplicationStatusChanged,
    ApplicationSubmitted,
)
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.contracts.identity import CitizenContact, CitizenRegistered, CitizenUpdated
from mpp_shared.events import Event
from mpp_shared.kafka import DirectPublisher, Handlers

CONSUMED = [topics.CATALOG, topics.IDENTITY, topics.APPLICATIONS]


def handlers(s3: Minio, settings: Settings, pins: DirectPublisher) -> Handlers:
    """Handlers by contract."""

    async def published(facts: ServicePublished, event: Event, connection: AsyncConnection) -> None:
        await store.replace_limits(
            connection,
            service_refs=[facts.slug, facts.service_id],
            by_requirement={
                requirement.code: store.Limits(
                    max_size_mb=requirement.max_size_mb, formats=requirement.formats
                )
                for requirement in facts.requirements
            },
        )
        await outputs_store.name_service(connection, facts.service_id, facts.name)
        await issue_waiting(connection)

    async def agency(facts: AgencyUpserted, event: Event, connection: AsyncConnection) -> None:
        await outputs_store.name_agency(connection, facts.code, facts.name)

    async def citizen(facts: CitizenContact, event: Event, connection: AsyncConnection) -> None:
        await outputs_store.name_citizen(connection, facts.citizen_id, facts.name)
        await issue_waiting(connection)

    async def submitted(
        facts: ApplicationSubmitted, event: Event, connection: AsyncConnection
    ) -> None:
        await store.attach(
            connection,
            document_ids=facts.document_ids,
            application_id=facts.application_id,
            agency=facts.agency,
        )

    async def status_changed(
        facts: ApplicationStatusChanged, event: Event, connection: AsyncConnection
    ) -> None:
        await store.attach(
            connection,
            document_ids=facts.document_ids,
            application_id=facts.application_id,
            agency=facts.agency,
        )

    async def decided(
        facts: ApplicationApproved | ApplicationCompleted, event: Event, connection: AsyncConnection
    ) -> None:
        if not facts.electronic_output:
            return
        try:
            await issuing.issue(connection, s3, settings=settings, pins=pins, facts=facts)
        except issuing.NamesNotKnown:
            # Under the lock a name's handler takes before it looks at the waiting decisions:
            # a name committed meanwhile is seen here, one committed later sees this decision.
            await outputs_store.lock_waiting(connection)
            try:
                await issuing.issue(connection, s3, settings=settings, pins=pins, facts=facts)
            except issuing.NamesNotKnown:
                await outputs_store.wait_for_names(
                    connection,
                    application_id=facts.application_id,
                    event_type=event.type,
                    data=dict(event.data),
                )

    async def issue_waiting(connection: AsyncConnection) -> None:
        """Issue the outputs that waited for the name just read."""
        await outputs_store.lock_waiting(connection)
        for waiting in await outputs_store.waiting(connection):
            facts = _decision(waiting.event_type, waiting.data)
            try:
                await issuing.issue(connection, s3, settings=settings, pins=pins, facts=facts)
            except issuing.NamesNotKnown:
                continue
            await outputs_store.done_waiting(connection, waiting.application_id)

    return {
        ServicePublished: published,
        AgencyUpserted: agency,
        CitizenRegistered: citizen,
        CitizenUpdated: citizen,
        ApplicationSubmitted: submitted,
        ApplicationStatusChanged: status_changed,
        ApplicationApproved: decided,
        ApplicationCompleted: decided,
    }


def _decision(event_type: str, data: Any) -> ApplicationApproved | ApplicationCompleted:
    """A decision that waited for names, parsed as it was recorded."""
    if event_type == contracts.type_of(ApplicationApproved):
        return ApplicationApproved.model_validate(data)
    return ApplicationCompleted.model_validate(data)
