"""The Infobip provider against a stand-in for its HTTP API on a local port: messages go out in
Infobip's request shape, wait in `sending`, and its delivery receipts finish them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI, Request

from mpp_shared.testing import Tokens, eventually, in_process
from notifications.app import create_app
from notifications.providers import receipt_token
from notifications.settings import Settings

from ..conftest import citizen, event, notifications_settings, submitted


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FakeInfobip:
    """Records what it is sent; answers like Infobip's SMS API."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.app = FastAPI()

        @self.app.post("/sms/2/text/advanced")
        async def sms(request: Request) -> dict[str, Any]:
            body = await request.json()
            self.requests.append((dict(request.headers), body))
            return {
                "bulkId": "b1",
                "messages": [
                    {
                        "messageId": f"ib-{len(self.requests)}",
                        "to": body["messages"][0]["destinations"][0]["to"],
                        "status": {"groupName": "PENDING", "name": "PENDING_ACCEPTED"},
                    }
                ],
            }


@pytest.fixture
async def infobip() -> AsyncIterator[tuple[FakeInfobip, str]]:
    fake = FakeInfobip()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def through_infobip(settings: Settings, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(create_app(settings), base_url="http://n", tokens=tokens) as client:
        yield client


async def test_an_sms_through_infobip_is_finished_by_its_receipt(
    namespace: str, tokens: Tokens, mongo: Any, kafka: str, infobip: tuple[FakeInfobip, str]
) -> None:
    fake, base_url = infobip
    settings = notifications_settings(
        f"{namespace}ib",
        sms_provider="infobip",
        infobip_base_url=base_url,
        infobip_api_key="test-key",  # type: ignore[arg-type]
    )
    try:
        async with through_infobip(settings, tokens) as client:
            runner = client.app.state.runtime.consumer  # type: ignore[attr-defined]
            person = citizen(email=None)
            application = submitted(person.citizen_id)
            for item in (
                event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"),
                event("applications.application.submitted.v1", "app", application, "applications"),
            ):
                await runner.handlers[item.type](item)
            db = client.app.state.runtime.db  # type: ignore[attr-defined]

            async def sending() -> dict[str, Any] | None:
                found: dict[str, Any] | None = await db["messages"].find_one({"channel": "sms"})
                return found if found and found["status"] == "sending" else None

            message = await eventually(sending, timeout=20)
            headers, body = fake.requests[0]
            assert headers["authorization"] == "App test-key"
            sent = body["messages"][0]
            assert sent["destinations"] == [{"to": person.phone.lstrip("+")}]
            assert application.tracking_number in sent["text"]
            assert sent["callbackData"] == message["_id"]
            assert message["reference"] == "ib-1"

            report = {
                "results": [
                    {
                        "messageId": "ib-1",
                        "callbackData": message["_id"],
                        "status": {"groupName": "DELIVERED", "name": "DELIVERED_TO_HANDSET"},
                    }
                ]
            }
            forged = await client.post(
                "/api/v1/notifications/receipts/infobip?token=wrong", json=report
            )
            assert forged.status_code == 403
            token = receipt_token(settings, message["_id"])
            accepted = await client.post(
                f"/api/v1/notifications/receipts/infobip?token={token}", json=report
            )
            assert accepted.status_code == 204
            again = await client.post(
                f"/api/v1/notifications/receipts/infobip?token={token}", json=report
            )
            assert again.status_code == 204, "a repeated receipt changes nothing"
            finished = await db["messages"].find_one({"_id": message["_id"]})
            assert finished["status"] == "delivered"
            assert [h["status"] for h in finished["history"]] == ["sending", "delivered"]
    finally:
        await mongo.drop_database(settings.database_name)
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            ours = [t for t in await admin.list_topics() if t.startswith(f"{namespace}ib.")]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()
