"""The Infobip provider against a stand-in for its HTTP API on a local port: messages go out in
Infobip's request shape, wait in `sending`, and its delivery receipts finish them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import select

from mpp_shared import db
from mpp_shared.local import postgres_admin_url
from mpp_shared.testing import Databases, Tokens, eventually, feeder, in_process
from notifications import store
from notifications.app import create_app
from notifications.models import Message
from notifications.providers import receipt_token
from notifications.settings import Settings

from ..conftest import (
    FakeInfobip,
    citizen,
    engine_of,
    event,
    notifications_settings,
    submitted,
)


@contextlib.asynccontextmanager
async def through_infobip(settings: Settings, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(create_app(settings), base_url="http://n", tokens=tokens) as client:
        yield client


async def test_an_sms_through_infobip_is_finished_by_its_receipt(
    namespace: str,
    tokens: Tokens,
    postgres: Databases,
    kafka: str,
    infobip: tuple[FakeInfobip, str],
) -> None:
    fake, base_url = infobip
    settings = notifications_settings(
        f"{namespace}ib",
        sms_provider="infobip",
        infobip_base_url=base_url,
        infobip_api_key="test-key",  # type: ignore[arg-type]
    )
    await postgres.create(settings)
    try:
        async with through_infobip(settings, tokens) as client:
            person = citizen(email=None)
            application = submitted(person.citizen_id)
            await feeder(client)(
                event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"),
                event("applications.application.submitted.v1", "app", application, "applications"),
            )
            engine = engine_of(client)

            async def sms() -> Message:
                async with engine.connect() as connection:
                    [row] = await connection.execute(
                        select(store.messages.c.id).where(store.messages.c.channel == "sms")
                    )
                    found = await store.find_message(connection, row.id)
                assert found is not None
                return found

            async def sending() -> Message | None:
                found = await sms()
                return found if found.status == "sending" and found.reference else None

            message = await eventually(sending, timeout=20)
            headers, body = fake.requests[0]
            assert headers["authorization"] == "App test-key"
            sent = body["messages"][0]
            assert sent["destinations"] == [{"to": person.phone.lstrip("+")}]
            assert application.tracking_number in sent["text"]
            assert sent["callbackData"] == message.id
            assert message.reference == "ib-1"

            report = {
                "results": [
                    {
                        "messageId": "ib-1",
                        "callbackData": message.id,
                        "status": {"groupName": "DELIVERED", "name": "DELIVERED_TO_HANDSET"},
                    }
                ]
            }
            forged = await client.post(
                "/api/v1/notifications/receipts/infobip?token=wrong", json=report
            )
            assert forged.status_code == 403
            token = receipt_token(settings, message.id)
            accepted = await client.post(
                f"/api/v1/notifications/receipts/infobip?token={token}", json=report
            )
            assert accepted.status_code == 204
            again = await client.post(
                f"/api/v1/notifications/receipts/infobip?token={token}", json=report
            )
            assert again.status_code == 204, "a repeated receipt changes nothing"
            assert (await sms()).status == "delivered"
            async with engine.connect() as connection:
                history = await store.history(connection, message.id)
            assert [h.status for h in history] == ["sending", "delivered"]
    finally:
        await db.drop_databases(postgres_admin_url(), prefix=f"{namespace}ib_")
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            ours = [t for t in await admin.list_topics() if t.startswith(f"{namespace}ib.")]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'{"results": {"not": "a list"}}',
        b'{"results": [{"status": "DELIVERED"}]}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
async def test_a_malformed_receipt_is_a_problem_not_a_500(
    notifications: httpx.AsyncClient, body: bytes
) -> None:
    answer = await notifications.post(
        "/api/v1/notifications/receipts/infobip?token=any",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_receipt_larger_than_any_report_is_refused(
    notifications: httpx.AsyncClient,
) -> None:
    answer = await notifications.post(
        "/api/v1/notifications/receipts/infobip?token=any",
        content=b'{"results": []' + b" " * 2_000_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
