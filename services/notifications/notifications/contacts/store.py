"""Every query of contacts: citizens' addresses and preferences, staff to tell about their
agency's work, and the events waiting for a citizen's contact."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Row,
    Table,
    Text,
    Time,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared.events import Event, from_json
from notifications.models import DEFAULT_CHANNELS, Contact, Preferences, QuietHours, Staff
from notifications.store import metadata, push_subscriptions

Timestamp = DateTime(timezone=True)

contacts = Table(
    "contacts",
    metadata,
    Column("citizen_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("phone", Text),
    Column("phone_verified", Boolean, nullable=False),
    Column("email", Text),
    Column("language", Text),
    Column("as_of", Timestamp, nullable=False),
)

# A citizen's own choices; null where they chose nothing (the default applies).
preferences = Table(
    "preferences",
    metadata,
    Column("citizen_id", Text, primary_key=True),
    *(Column(f"wants_{channel}", Boolean) for channel in DEFAULT_CHANNELS),
    Column("quiet_start", Time),
    Column("quiet_end", Time),
    Column("updated_at", Timestamp, nullable=False),
)

staff_contacts = Table(
    "staff_contacts",
    metadata,
    Column("staff_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("agency", Text),
    Column("email", Text),
    Column("active", Boolean, nullable=False),
    Index("ix_staff_contacts_agency_role", "agency", "role"),
)

# Events about a citizen whose contact has not been read yet.
waiting_for_contact = Table(
    "waiting_for_contact",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("citizen_id", Text, nullable=False),
    Column("envelope", Text, nullable=False),
    Column("since", Timestamp, nullable=False),
    Index("ix_waiting_for_contact_citizen_id", "citizen_id"),
    Index("ix_waiting_for_contact_since", "since"),
)


# --- contacts and preferences ---------------------------------------------------------------------


async def save_contact(
    connection: AsyncConnection, contact: Contact, *, as_of: dt.datetime
) -> None:
    """Keep a citizen's contact unless a later event's is kept already."""
    values = contact.model_dump() | {"as_of": as_of}
    statement = insert(contacts).values(values)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[contacts.c.citizen_id],
            set_={k: statement.excluded[k] for k in values if k != "citizen_id"},
            where=contacts.c.as_of <= statement.excluded.as_of,
        )
    )


# Read for every event about a citizen: prebuilt, with bound parameters (building a statement
# per call and computing its cache key cost more CPU than running it).
_CONTACT = select(contacts).where(contacts.c.citizen_id == bindparam("citizen_id"))
_PREFERENCES = select(preferences).where(preferences.c.citizen_id == bindparam("citizen_id"))
# A citizen's contact, choices (null without a row) and browsers, in one query: what planning
# an event's messages needs, once per event rather than three queries.
_RECIPIENT = (
    select(
        contacts,
        *(preferences.c[f"wants_{channel}"] for channel in DEFAULT_CHANNELS),
        preferences.c.quiet_start,
        preferences.c.quiet_end,
        select(
            func.array_agg(
                aggregate_order_by(push_subscriptions.c.subscription, push_subscriptions.c.id)
            )
        )
        .where(push_subscriptions.c.citizen_id == contacts.c.citizen_id)
        .scalar_subquery()
        .label("push"),
    )
    .outerjoin(preferences, preferences.c.citizen_id == contacts.c.citizen_id)
    .where(contacts.c.citizen_id == bindparam("citizen_id"))
)


@dataclass(frozen=True)
class Recipient:
    """A citizen as planning messages sees them: contact, choices, push subscriptions (JSON)."""

    contact: Contact
    preferences: Preferences
    push: list[str]


async def find_contact(connection: AsyncConnection, citizen_id: str) -> Contact | None:
    """A citizen's contact, once an identity event told it."""
    row = (await connection.execute(_CONTACT, {"citizen_id": citizen_id})).first()
    return Contact.model_validate(row._mapping) if row else None


async def find_preferences(connection: AsyncConnection, citizen_id: str) -> Preferences:
    """A citizen's choices, the defaults where they made none."""
    row = (await connection.execute(_PREFERENCES, {"citizen_id": citizen_id})).first()
    return Preferences() if row is None else _preferences(row)


async def find_recipient(connection: AsyncConnection, citizen_id: str) -> Recipient | None:
    """A citizen's contact, choices and push subscriptions; None until a contact is known."""
    row = (await connection.execute(_RECIPIENT, {"citizen_id": citizen_id})).first()
    if row is None:
        return None
    return Recipient(
        contact=Contact.model_validate(row._mapping),
        preferences=_preferences(row),
        push=list(row.push or ()),
    )


def _preferences(row: Row[Any]) -> Preferences:
    """Choices from a row of `preferences` (all null: the defaults)."""
    channels = {}
    for channel, default in DEFAULT_CHANNELS.items():
        wanted = row._mapping[f"wants_{channel}"]
        channels[channel] = default if wanted is None else bool(wanted)
    quiet = None
    if row.quiet_start is not None and row.quiet_end is not None:
        quiet = QuietHours(
            start=row.quiet_start.strftime("%H:%M"), end=row.quiet_end.strftime("%H:%M")
        )
    return Preferences(channels=channels, quiet_hours=quiet)


async def save_preferences(
    connection: AsyncConnection, citizen_id: str, chosen: Preferences, *, now: dt.datetime
) -> None:
    """Keep a citizen's choices (before or after their contact arrived)."""
    quiet = chosen.quiet_hours
    values: dict[str, Any] = {
        f"wants_{channel}": chosen.channels.get(channel) for channel in DEFAULT_CHANNELS
    } | {
        "quiet_start": dt.time.fromisoformat(quiet.start) if quiet else None,
        "quiet_end": dt.time.fromisoformat(quiet.end) if quiet else None,
        "updated_at": now,
    }
    statement = insert(preferences).values(citizen_id=citizen_id, **values)
    await connection.execute(
        statement.on_conflict_do_update(index_elements=[preferences.c.citizen_id], set_=values)
    )


async def save_staff(
    connection: AsyncConnection,
    *,
    staff_id: str,
    name: str,
    role: str,
    agency: str | None,
    email: str | None,
    active: bool,
) -> None:
    """Keep a staff account as the latest identity event told it."""
    values = {"name": name, "role": role, "agency": agency, "email": email, "active": active}
    statement = insert(staff_contacts).values(staff_id=staff_id, **values)
    await connection.execute(
        statement.on_conflict_do_update(index_elements=[staff_contacts.c.staff_id], set_=values)
    )


async def agency_admins(connection: AsyncConnection, agency: str) -> list[Staff]:
    """The active administrators of an agency who have an e-mail address."""
    query = (
        select(staff_contacts.c.staff_id, staff_contacts.c.name, staff_contacts.c.email)
        .where(
            staff_contacts.c.agency == agency,
            staff_contacts.c.role == "agency_admin",
            staff_contacts.c.active,
            staff_contacts.c.email.is_not(None),
        )
        .order_by(staff_contacts.c.staff_id)
    )
    return [Staff.model_validate(row._mapping) for row in await connection.execute(query)]


# --- events waiting for a contact -----------------------------------------------------------------


async def keep_waiting(
    connection: AsyncConnection, event: Event, *, citizen_id: str, since: dt.datetime
) -> None:
    """Keep an event until the citizen's contact is read."""
    await connection.execute(
        insert(waiting_for_contact)
        .values(
            event_id=event.id,
            citizen_id=citizen_id,
            envelope=event.to_json().decode(),
            since=since,
        )
        .on_conflict_do_nothing()
    )


async def take_waiting(connection: AsyncConnection, citizen_id: str) -> list[Event]:
    """The events that waited for a citizen's contact, in the order they came; forgotten here."""
    taken = await connection.execute(
        delete(waiting_for_contact)
        .where(waiting_for_contact.c.citizen_id == citizen_id)
        .returning(waiting_for_contact.c.envelope, waiting_for_contact.c.since)
    )
    return [from_json(row.envelope) for row in sorted(taken, key=lambda row: row.since)]


async def forget_waiting(connection: AsyncConnection, *, before: dt.datetime) -> None:
    """Drop the events that waited since before `before`."""
    await connection.execute(
        delete(waiting_for_contact).where(waiting_for_contact.c.since < before)
    )
