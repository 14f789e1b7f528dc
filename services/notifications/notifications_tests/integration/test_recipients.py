"""What planning reads of a citizen in one query: contact, choices and push subscriptions."""

from __future__ import annotations

import datetime as dt
import secrets

import httpx

from mpp_shared import db
from notifications import messages, store
from notifications.contacts import store as contacts
from notifications.models import Contact, Preferences, QuietHours
from notifications.settings import Settings

from ..conftest import citizen, engine_of, event, submitted


async def test_a_recipient_is_their_contact_choices_and_browsers(
    notifications: httpx.AsyncClient, settings: Settings
) -> None:
    engine = engine_of(notifications)
    person = citizen()
    contact = Contact.model_validate(person.model_dump())
    chosen = Preferences(
        channels={"email": False, "sms": True, "whatsapp": True, "push": True},
        quiet_hours=QuietHours(start="22:00", end="06:30"),
    )
    browsers = [f'{{"endpoint": "https://push.example/{n}"}}' for n in ("b", "a")]
    async with db.transaction(engine) as connection:
        assert await contacts.find_recipient(connection, person.citizen_id) is None
        await contacts.save_contact(connection, contact, as_of=dt.datetime.now(dt.UTC))
        plain = await contacts.find_recipient(connection, person.citizen_id)
        await contacts.save_preferences(
            connection, person.citizen_id, chosen, now=dt.datetime.now(dt.UTC)
        )
        for n, browser in zip(("2", "1"), browsers, strict=True):
            await store.save_push(
                connection,
                subscription_id=f"sub-{person.citizen_id}-{n}",
                citizen_id=person.citizen_id,
                subscription=browser,
            )
        found = await contacts.find_recipient(connection, person.citizen_id)

    assert plain is not None
    assert (plain.contact, plain.preferences, plain.push) == (contact, Preferences(), [])
    assert found is not None
    assert found.contact == contact
    assert found.preferences == chosen
    assert found.push == list(reversed(browsers)), "by subscription id"

    submission = event(
        "applications.application.submitted.v1",
        f"app-{secrets.token_hex(4)}",
        submitted(person.citizen_id),
        "applications",
    )
    async with db.transaction(engine) as connection:
        assert await messages.plan(connection, settings, submission) == 4
        assert await messages.plan(connection, settings, submission) == 0, "planned once"
        planned = await store.messages_of_event(connection, submission.id)
    assert sorted(m.to for m in planned if m.channel == "push") == sorted(browsers)
    # E-mail turned off; WhatsApp wanted, but submissions have no WhatsApp template.
    assert {m.channel for m in planned} == {"inbox", "sms", "push"}
