"""The notifications app in-process on the real store, bus and Mailpit; events handed to its
consumer as if they came from Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from mpp_shared import db, events, topics
from mpp_shared.contracts.applications import ApplicationSubmitted
from mpp_shared.contracts.identity import CitizenRegistered
from mpp_shared.testing import Databases, Tokens, feeder, in_process, settings_for
from notifications.app import create_app
from notifications.settings import Settings

MIGRATIONS = "notifications.migrations"


def notifications_settings(namespace: str, **overrides: Any) -> Settings:
    return settings_for(
        Settings,
        namespace,
        **({"retry_initial_seconds": 0.2, "delivery_poll_seconds": 0.1} | overrides),
    )


async def started(settings: Settings, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(
        create_app(settings), base_url="http://notifications", tokens=tokens
    ) as client:
        yield client


@pytest.fixture(scope="session")
def settings(namespace: str) -> Settings:
    return notifications_settings(namespace)


@pytest.fixture(scope="session")
async def notifications(
    settings: Settings, tokens: Tokens, postgres: Databases, kafka: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The notifications API in-process; `notifications.app` is the FastAPI app."""
    async for client in started(settings, tokens):
        yield client


def engine_of(client: httpx.AsyncClient) -> AsyncEngine:
    """The database of an in-process notifications app."""
    engine: AsyncEngine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    return engine


@contextlib.asynccontextmanager
async def own_database(
    postgres: Databases, namespace: str, name: str, **overrides: Any
) -> AsyncIterator[tuple[Settings, AsyncEngine]]:
    """A notifications database of a test's own (`<namespace>_notifications_<name>`), migrated,
    for tests whose counts must see only their own rows."""
    settings = notifications_settings(
        namespace,
        service_name=f"notifications_{name}",
        postgres_user="mpp_notifications",
        **overrides,
    )
    await postgres.create(settings)
    await db.migrate(settings, MIGRATIONS)
    engine = db.create_engine(settings)
    try:
        yield settings, engine
    finally:
        await engine.dispose()


@pytest.fixture
def feed(notifications: httpx.AsyncClient) -> Callable[..., Any]:
    """Hand events to the service's consumer handlers, as if they came from Kafka."""
    return feeder(notifications)


def event(kind: str, subject: str, data: Any, source: str) -> events.Event:
    return events.new_event(type=kind, source=topics.source_of(source), subject=subject, data=data)


def citizen(**changes: Any) -> CitizenRegistered:
    """A verified citizen with an e-mail address."""
    token = secrets.token_hex(4)
    values: dict[str, Any] = {
        "citizen_id": f"citizen-{token}",
        "name": "Andi Baso",
        "phone": f"+62812{secrets.randbelow(10**8):08d}",
        "phone_verified": True,
        "email": f"andi.{token}@example.id",
        "language": "id",
    }
    return CitizenRegistered(**(values | changes))


def submitted(citizen_id: str, **changes: Any) -> ApplicationSubmitted:
    values: dict[str, Any] = {
        "application_id": f"app-{secrets.token_hex(4)}",
        "tracking_number": f"SNJ-DISDUKCAPIL-20261127-{secrets.randbelow(999999):06d}",
        "service_id": "svc-akta",
        "service_version": 1,
        "agency": "DISDUKCAPIL",
        "citizen_id": citizen_id,
        "state": "submitted",
        "document_ids": ["doc-1"],
    }
    return ApplicationSubmitted(**(values | changes))


# --- a stand-in for Infobip's HTTP API -----------------------------------------------------------


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
