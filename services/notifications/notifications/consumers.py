"""What the notifications service does with each event it reads: keep contacts and names, plan
the messages the event calls for, and record partners' webhook deliveries. The runner applies
each event once, in one transaction with its inbox record, so an event delivered twice sends
nothing twice."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db, topics
from mpp_shared.contracts import Contract, load_all
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished
from mpp_shared.contracts.identity import (
    CitizenContact,
    CitizenRegistered,
    CitizenUpdated,
    StaffUpdated,
)
from mpp_shared.events import Event
from mpp_shared.kafka import Handlers
from notifications import messages, store
from notifications.contacts import service as contacts
from notifications.settings import Settings
from notifications.webhooks import deliveries as webhooks

CONSUMED = [
    topics.IDENTITY,
    topics.IDENTITY_OTP,
    topics.CATALOG,
    topics.APPLICATIONS,
    topics.DOCUMENTS,
    topics.DOCUMENTS_PINS,
]


async def _service_name(
    service: ServicePublished, event: Event, connection: AsyncConnection
) -> None:
    """Services' names, for the text of messages."""
    await store.save_name(connection, kind="service", code=service.service_id, name=service.name)


async def _agency_name(agency: AgencyUpserted, event: Event, connection: AsyncConnection) -> None:
    """Agencies' names, for the text of messages."""
    await store.save_name(connection, kind="agency", code=agency.code, name=agency.name)


# What some contracts change here before the messages they call for are planned.
KEEPING: Handlers = {
    CitizenRegistered: contacts.on_citizen,
    CitizenUpdated: contacts.on_citizen,
    StaffUpdated: contacts.on_staff,
    ServicePublished: _service_name,
    AgencyUpserted: _agency_name,
}


def handlers(settings: Settings, wake: Callable[[], None]) -> Handlers:
    """A handler for every contract on the consumed topics; `wake` the sender once an event
    that planned messages or webhook deliveries has committed (it polls too)."""

    async def handle(payload: Contract, event: Event, connection: AsyncConnection) -> None:
        keep = KEEPING.get(type(payload))
        if keep is not None:
            await keep(payload, event, connection)
        planned = await messages.plan(connection, settings, event)
        if isinstance(payload, CitizenContact):
            planned += await messages.plan_waiting(connection, settings, payload.citizen_id)
        recorded = await webhooks.on_event(connection, event)
        if planned or recorded:
            db.after_commit(connection, wake)

    return {model: handle for topic, model in load_all().values() if topic in CONSUMED}
