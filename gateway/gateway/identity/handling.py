"""Which agency handles which citizen's applications, learnt from `applications.events`.

An agency's staff may read a citizen's identity only while the agency handles an application of
theirs, and for `GRACE` after it ended (completed, rejected, cancelled or another state that ends
its service's workflow), so an officer can still answer a complaint or a question about it.

Each handler runs in the transaction that records the event in the inbox, and is idempotent by
itself as well (upserts; an end, once recorded, is kept), so a redelivered event changes nothing.
Every application event names its agency and applicant: a step of an application submitted before
the gateway followed the topic records it too.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.identity import store
from mpp_shared.contracts.applications import (
    ApplicationCancelled,
    ApplicationCompleted,
    ApplicationFacts,
    ApplicationRejected,
    ApplicationStatusChanged,
    ApplicationSubmitted,
)
from mpp_shared.events import Event
from mpp_shared.kafka import Handlers

GRACE = dt.timedelta(days=30)


async def on_submitted(
    facts: ApplicationSubmitted, event: Event, connection: AsyncConnection
) -> None:
    """The agency now handles the application."""
    await store.record_handling(
        connection,
        application_id=facts.application_id,
        citizen_id=facts.citizen_id,
        agency=facts.agency,
        requires_full_nik=facts.requires_full_nik,
    )


async def on_step(
    facts: ApplicationStatusChanged, event: Event, connection: AsyncConnection
) -> None:
    """A workflow step: the application goes on, or it ended in a state of its own."""
    if facts.terminal:
        await _end(event, facts, connection)
        return
    await store.record_handling(
        connection,
        application_id=facts.application_id,
        citizen_id=facts.citizen_id,
        agency=facts.agency,
        requires_full_nik=False,  # known from the submission only; an earlier `True` is kept
    )


async def on_ended(facts: ApplicationFacts, event: Event, connection: AsyncConnection) -> None:
    """The application was completed, rejected or cancelled."""
    await _end(event, facts, connection)


async def _end(event: Event, facts: ApplicationFacts, connection: AsyncConnection) -> None:
    # The event's own time, not the time it is applied: a replay does not lengthen the grace.
    await store.close_handling(
        connection,
        application_id=facts.application_id,
        citizen_id=facts.citizen_id,
        agency=facts.agency,
        closed_at=event.time,
    )


HANDLERS: Handlers = {
    ApplicationSubmitted: on_submitted,
    ApplicationStatusChanged: on_step,
    ApplicationCompleted: on_ended,
    ApplicationRejected: on_ended,
    ApplicationCancelled: on_ended,
}
