"""How to reach each citizen (and the staff told of their agency's breaches): contact addresses
from the gateway's identity events (never a call to the gateway), and the citizen's own
preferences: channels and quiet hours."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared.contracts.identity import CitizenContact, StaffUpdated
from mpp_shared.events import Event
from mpp_shared.kafka import Handler

Db = AsyncDatabase[dict[str, Any]]
CONTACTS = "contacts"
STAFF = "staff_contacts"
# What a citizen gets unless they choose otherwise: WhatsApp only when asked for.
DEFAULT_CHANNELS = {"email": True, "sms": True, "whatsapp": False, "push": True}
Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class QuietHours(BaseModel):
    """When SMS, WhatsApp and push wait (one-time codes and PINs never do), local time."""

    model_config = ConfigDict(extra="forbid")
    start: Clock = "21:00"
    end: Clock = "07:00"


class Preferences(BaseModel):
    """Which channels a citizen wants, and their quiet hours."""

    model_config = ConfigDict(extra="forbid")
    channels: dict[str, bool] = Field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    quiet_hours: QuietHours | None = None

    def wants(self, channel: str) -> bool:
        """Inbox always; the others as chosen."""
        return channel == "inbox" or self.channels.get(
            channel, DEFAULT_CHANNELS.get(channel, False)
        )


async def contact(db: Db, citizen_id: str) -> dict[str, Any] | None:
    """A citizen's contact and preferences."""
    return await db[CONTACTS].find_one({"_id": citizen_id})


def preferences(found: dict[str, Any] | None) -> Preferences:
    """The stored preferences, or the defaults."""
    return Preferences.model_validate((found or {}).get("preferences") or {})


async def save_preferences(db: Db, citizen_id: str, chosen: Preferences) -> None:
    """Keep a citizen's choices (before or after their contact arrived)."""
    await db[CONTACTS].update_one(
        {"_id": citizen_id}, {"$set": {"preferences": chosen.model_dump()}}, upsert=True
    )


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


def handlers(db: Db) -> dict[str, Handler]:
    """Contact addresses follow the identity events; preferences are left as chosen."""

    async def changed(event: Event) -> None:
        facts = CitizenContact.model_validate(event.data)
        fields = facts.model_dump(exclude={"citizen_id"})
        # One citizen's events share a partition key, so they arrive in order.
        await db[CONTACTS].update_one(
            {"_id": facts.citizen_id},
            {"$set": fields | {"as_of": event.time}},
            upsert=True,
        )

    async def staff_changed(event: Event) -> None:
        facts = StaffUpdated.model_validate(event.data)
        await db[STAFF].replace_one(
            {"_id": facts.staff_id}, facts.model_dump(exclude={"staff_id"}), upsert=True
        )

    return {
        "identity.citizen.registered.v1": changed,
        "identity.citizen.updated.v1": changed,
        "identity.staff.updated.v1": staff_changed,
    }


async def agency_admins(db: Db, agency: str) -> list[dict[str, Any]]:
    """The active administrators of an agency who have an e-mail address."""
    cursor = db[STAFF].find({"role": "agency_admin", "agency": agency, "active": True})
    return [s async for s in cursor if s.get("email")]
