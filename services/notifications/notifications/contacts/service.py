"""How to reach each citizen (and the staff told of their agency's breaches): contact addresses
from the gateway's identity events (never a call to the gateway), and the citizen's own
preferences: channels and quiet hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared.contracts.identity import CitizenContact, StaffUpdated
from mpp_shared.events import Event
from notifications.contacts import store
from notifications.models import Contact, Preferences


def quiet_until(chosen: Preferences, now: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """When the quiet hours end, if `now` is within them."""
    if chosen.quiet_hours is None:
        return None
    local = now.astimezone(zone)
    start = dt.time.fromisoformat(chosen.quiet_hours.start)
    end = dt.time.fromisoformat(chosen.quiet_hours.end)
    moment = local.time()
    inside = start <= moment or moment < end if start > end else start <= moment < end
    if not inside:
        return None
    day = local.date() if moment < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=zone).astimezone(dt.UTC)


async def on_citizen(facts: CitizenContact, event: Event, connection: AsyncConnection) -> None:
    """Contact addresses follow the identity events; preferences are left as chosen."""
    # One citizen's events share a partition key, so they arrive in order; an older one
    # replayed (from the dead-letter topic) does not undo a newer one.
    await store.save_contact(
        connection, Contact.model_validate(facts.model_dump()), as_of=event.time
    )


async def on_staff(facts: StaffUpdated, event: Event, connection: AsyncConnection) -> None:
    """Staff accounts, for the messages about their agency's work."""
    await store.save_staff(connection, **facts.model_dump())
