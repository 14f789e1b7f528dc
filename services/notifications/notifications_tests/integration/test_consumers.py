"""Every handler, the same event delivered twice: the second delivery changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mpp_shared import events
from mpp_shared.contracts.catalog import AgencyUpserted, LocalizedText
from mpp_shared.contracts.identity import CitizenUpdated, OtpRequested, StaffUpdated
from notifications import store
from notifications.contacts import store as contacts

from ..conftest import citizen, engine_of, event, submitted


async def snapshot(notifications: httpx.AsyncClient, sent: events.Event) -> dict[str, Any]:
    """What handlers write (not what the sending loop changes later), for one event."""
    subject = sent.data.get("citizen_id") or sent.subject
    queries = {
        "contacts": select(contacts.contacts).where(contacts.contacts.c.citizen_id == subject),
        "staff": select(contacts.staff_contacts).where(
            contacts.staff_contacts.c.staff_id == subject
        ),
        "names": select(store.names).where(store.names.c.code == subject),
        "waiting": select(contacts.waiting_for_contact.c.event_id).where(
            contacts.waiting_for_contact.c.citizen_id == subject
        ),
        "messages": select(store.messages.c.id, store.messages.c.created_at).where(
            store.messages.c.event_id == sent.id
        ),
    }
    async with engine_of(notifications).connect() as connection:
        return {
            name: sorted(map(tuple, await connection.execute(query)), key=repr)
            for name, query in queries.items()
        }


def otp() -> events.Event:
    phone = f"+62812{secrets.randbelow(10**8):08d}"
    data = OtpRequested(
        phone=phone,
        code="123456",
        purpose="verify_phone",
        language="id",
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    return event("identity.otp.requested.v1", phone, data, "gateway")


def staff() -> events.Event:
    data = StaffUpdated(
        staff_id=f"staff-{secrets.token_hex(3)}",
        name="Kepala",
        role="agency_admin",
        agency="DINAS",
        email="kepala@example.id",
        active=True,
    )
    return event("identity.staff.updated.v1", data.staff_id, data, "gateway")


def agency() -> events.Event:
    data = AgencyUpserted(
        agency_id=f"agency-{secrets.token_hex(3)}",
        code=f"DINAS{secrets.token_hex(2).upper()}",
        name=LocalizedText(id="Dinas X", en="Office X"),
        kind="dinas",
        version=1,
    )
    return event("catalog.agency.upserted.v1", data.code, data, "catalog")


def cases() -> dict[str, Callable[[], events.Event]]:
    person = citizen()
    return {
        "citizen registered": lambda: event(
            "identity.citizen.registered.v1", person.citizen_id, person, "gateway"
        ),
        "citizen updated": lambda: event(
            "identity.citizen.updated.v1",
            person.citizen_id,
            CitizenUpdated(**person.model_dump() | {"language": "en"}),
            "gateway",
        ),
        "staff updated": staff,
        "agency upserted": agency,
        "application submitted": lambda: event(
            "applications.application.submitted.v1",
            "app",
            submitted(person.citizen_id),
            "applications",
        ),
        "one-time code": otp,
    }


@pytest.mark.parametrize("case", list(cases()))
async def test_an_event_delivered_twice_changes_nothing_the_second_time(
    notifications: httpx.AsyncClient, feed: Callable[..., Any], case: str
) -> None:
    sent = cases()[case]()
    await feed(sent)
    first = await snapshot(notifications, sent)
    await feed(sent)
    assert await snapshot(notifications, sent) == first
