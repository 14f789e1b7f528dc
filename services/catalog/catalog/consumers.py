"""What the catalog learns from other services' events: how many applications each service
receives, for the citizen app's home. Each handler runs in the transaction that records the event
in the inbox, so a redelivered event changes nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from catalog import store
from mpp_shared import topics
from mpp_shared.contracts.applications import ApplicationSubmitted
from mpp_shared.events import Event
from mpp_shared.kafka import Handlers

CONSUMED = [topics.APPLICATIONS]


async def submitted(facts: ApplicationSubmitted, event: Event, connection: AsyncConnection) -> None:
    await store.count_application(connection, service_id=facts.service_id, day=event.time.date())


def handlers() -> Handlers:
    """Handlers by contract."""
    return {ApplicationSubmitted: submitted}
