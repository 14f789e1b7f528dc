"""One-time codes sent by SMS through the sandbox provider (recorded in Mailpit)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mpp_shared import events, topics
from mpp_shared.contracts.identity import OtpRequested
from mpp_shared.kafka import create_producer
from mpp_shared.testing import Databases, eventually, mailbox, settings_for, sms_address
from notifications.app import create_app
from notifications.settings import Settings


@pytest.fixture(scope="module")
async def notifications(namespace: str, postgres: Databases, kafka: str) -> AsyncIterator[Settings]:
    settings = settings_for(Settings, namespace)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield settings


async def publish(settings: Settings, *sent: events.Event) -> None:
    producer = create_producer(settings)
    await producer.start()
    try:
        for event in sent:
            record = events.to_kafka(event)
            await producer.send_and_wait(
                settings.topic(topics.IDENTITY_OTP),
                value=record.value,
                key=str(record.key).encode(),
                headers=list(record.headers.items()),
            )
    finally:
        await producer.stop()


def otp_event(phone: str, *, language: str = "id", minutes: int = 5) -> events.Event:
    return events.new_event(
        type="identity.otp.requested.v1",
        source=topics.source_of("gateway"),
        subject=phone,
        data=OtpRequested(
            phone=phone,
            code=f"{secrets.randbelow(10**6):06d}",
            purpose="verify_phone",
            language=language,  # type: ignore[arg-type]
            expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        ),
    )


async def test_a_code_delivered_twice_is_sent_once_in_the_citizens_language(
    notifications: Settings,
) -> None:
    phone = f"+62812{secrets.randbelow(10**8):08d}"
    event = otp_event(phone, language="en")
    await publish(notifications, event, event)
    later = otp_event(phone, language="en")
    await publish(notifications, later)

    async def both() -> list[dict[str, Any]] | None:
        found = await mailbox(sms_address(phone))
        return found if len(found) >= 2 else None

    messages = await eventually(both, timeout=30)
    assert len(messages) == 2, "the first event, delivered twice, made one message"
    assert event.data["code"] in messages[0]["Text"]
    assert "verification code" in messages[0]["Text"]
    assert later.data["code"] in messages[1]["Text"]


async def test_an_expired_code_is_not_sent(notifications: Settings) -> None:
    phone = f"+62812{secrets.randbelow(10**8):08d}"
    stale, fresh = otp_event(phone, minutes=-1), otp_event(phone)
    await publish(notifications, stale, fresh)
    [message] = await eventually(lambda: mailbox(sms_address(phone)), timeout=30)
    assert fresh.data["code"] in message["Text"]
    assert "Kode verifikasi" in message["Text"]
