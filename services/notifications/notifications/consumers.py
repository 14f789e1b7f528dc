"""What the notifications service does with each event it reads: keep contacts and names, plan
the messages the event calls for, and record partners' webhook deliveries. The runner applies
each event once, in one transaction with its inbox record, so an event delivered twice sends
nothing twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db, topics
from mpp_shared.contracts import load_all
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.events import Event
from notifications import messages, store
from notifications.contacts import service as contacts
from notifications.settings import Settings
from notifications.webhooks import deliveries as webhooks

Handler = Callable[[Event, AsyncConnection], Awaitable[None]]
CITIZEN_CONTACT = ("identity.citizen.registered.v1", "identity.citizen.updated.v1")
BY_TYPE: dict[str, Handler] = {
    "identity.citizen.registered.v1": contacts.on_citizen,
    "identity.citizen.updated.v1": contacts.on_citizen,
    "identity.staff.updated.v1": contacts.on_staff,
}
CONSUMED = [
    topics.IDENTITY,
    topics.IDENTITY_OTP,
    topics.CATALOG,
    topics.APPLICATIONS,
    topics.DOCUMENTS,
    topics.DOCUMENTS_PINS,
]


async def _names(event: Event, connection: AsyncConnection) -> None:
    """Services' and agencies' names, for the text of messages."""
    if event.type == "catalog.service.published.v1":
        service = ServicePublished.model_validate(event.data)
        await store.save_name(
            connection, kind="service", code=service.service_id, name=service.name
        )
    else:
        agency = AgencyUpserted.model_validate(event.data)
        await store.save_name(connection, kind="agency", code=agency.code, name=agency.name)


def handlers(settings: Settings, wake: Callable[[], None]) -> dict[str, Handler]:
    """A handler for every event type on the consumed topics; `wake` the sender once an event
    that planned messages or webhook deliveries has committed (it polls too)."""
    consumed = {settings.topic(t) for t in CONSUMED}

    def handler_for(event_type: str) -> Handler:
        async def handle(event: Event, connection: AsyncConnection) -> None:
            if event_type in BY_TYPE:
                await BY_TYPE[event_type](event, connection)
            if event_type in ("catalog.service.published.v1", "catalog.agency.upserted.v1"):
                await _names(event, connection)
            planned = await messages.plan(connection, settings, event)
            if event_type in CITIZEN_CONTACT:
                planned += await messages.plan_waiting(
                    connection, settings, event.data["citizen_id"]
                )
            recorded = await webhooks.on_event(connection, event)
            if planned or recorded:
                db.after_commit(connection, wake)

        return handle

    return {
        event_type: handler_for(event_type)
        for event_type, (topic, _) in load_all().items()
        if settings.topic(topic) in consumed
    }
