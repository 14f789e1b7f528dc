"""What the notifications service does with each event it reads: keep contacts and names, plan
the messages the event calls for, and record partners' webhook deliveries. Every step is
idempotent, so an event delivered twice sends nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import topics
from mpp_shared.contracts import load_all
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.events import Event
from mpp_shared.kafka import Handler
from notifications import contacts, messages
from notifications.settings import Settings
from notifications.webhooks import deliveries as webhooks

Db = AsyncDatabase[dict[str, Any]]
CITIZEN_CONTACT = ("identity.citizen.registered.v1", "identity.citizen.updated.v1")
CONSUMED = [
    topics.IDENTITY,
    topics.IDENTITY_OTP,
    topics.CATALOG,
    topics.APPLICATIONS,
    topics.DOCUMENTS,
    topics.DOCUMENTS_PINS,
]


async def _names(db: Db, event: Event) -> None:
    """Services' and agencies' names, for the text of messages."""
    if event.type == "catalog.service.published.v1":
        service = ServicePublished.model_validate(event.data)
        key, name = f"service:{service.service_id}", service.name
    else:
        agency = AgencyUpserted.model_validate(event.data)
        key, name = f"agency:{agency.code}", agency.name
    await db[messages.NAMES].replace_one({"_id": key}, name.model_dump(), upsert=True)


def handlers(db: Db, settings: Settings, wake: Callable[[], None]) -> dict[str, Handler]:
    """A handler for every event type on the consumed topics."""
    by_contact = contacts.handlers(db)
    consumed = {settings.topic(t) for t in CONSUMED}

    def handler_for(event_type: str) -> Handler:
        async def handle(event: Event) -> None:
            if event_type in by_contact:
                await by_contact[event_type](event)
            if event_type in ("catalog.service.published.v1", "catalog.agency.upserted.v1"):
                await _names(db, event)
            planned = await messages.plan(db, settings, event)
            if event_type in CITIZEN_CONTACT:
                planned += await messages.plan_waiting(db, settings, event.data["citizen_id"])
            recorded = await webhooks.on_event(db, settings, event)
            if planned or recorded:
                wake()

        return handle

    return {
        event_type: handler_for(event_type)
        for event_type, (topic, _) in load_all().items()
        if settings.topic(topic) in consumed
    }
