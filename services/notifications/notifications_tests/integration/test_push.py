"""Web Push against a stand-in push service on a local port: the message is encrypted for the
browser's keys and signed with the mall's VAPID key; a subscription the service says is gone
is a permanent failure."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import secrets
import socket
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from mpp_shared import db
from mpp_shared.testing import Tokens
from notifications import messages, providers, store
from notifications.models import Message
from notifications.settings import Settings

from ..conftest import engine_of


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class PushService:
    """Records pushes; answers 201, or 410 for endpoints marked gone."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()

        @self.app.post("/push/{name}")
        async def push(name: str, request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=410 if name == "gone" else 201)


@pytest.fixture
async def push_service() -> AsyncIterator[tuple[PushService, str]]:
    service = PushService()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(service.app, host="127.0.0.1", port=port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield service, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def browser_subscription(endpoint: str) -> str:
    """What a browser's PushSubscription.toJSON() gives: its endpoint and its keys."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return json.dumps(
        {"endpoint": endpoint, "keys": {"p256dh": b64(public), "auth": b64(os.urandom(16))}}
    )


async def push_message(engine: AsyncEngine, to: str) -> str:
    message_id = f"push-{secrets.token_hex(4)}"
    now = dt.datetime.now(dt.UTC)
    message = Message(
        id=message_id,
        event_id="evt",
        event_type="applications.application.approved.v1",
        channel="push",
        to=to,
        citizen_id="c",
        subject="Permohonan disetujui",
        text="Permohonan SNJ-DISDUKCAPIL-20261127-000001 disetujui.",
        status="created",
        attempts=0,
        next_attempt_at=now + dt.timedelta(days=1),
        created_at=now,
        updated_at=now,
    )
    async with db.transaction(engine) as connection:
        assert await store.insert_message(connection, message)
    return message_id


async def status_of(engine: AsyncEngine, message_id: str) -> str:
    async with engine.connect() as connection:
        found = await store.find_message(connection, message_id)
    assert found is not None
    return found.status


async def test_a_push_is_encrypted_and_signed_with_the_vapid_key(
    notifications: httpx.AsyncClient, settings: Settings, push_service: tuple[PushService, str]
) -> None:
    service, base = push_service
    engine = engine_of(notifications)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1, minutes=1)  # beyond the loop's reach
    delivered = await push_message(engine, browser_subscription(f"{base}/push/ok"))
    gone = await push_message(engine, browser_subscription(f"{base}/push/gone"))
    async with httpx.AsyncClient() as http:
        sender = messages.Sender(engine, settings, http)
        assert await sender.attempt(delivered, later) == 1
        assert await sender.attempt(gone, later) == 1

    headers, body = service.received[0]
    assert headers["content-encoding"] == "aes128gcm"
    assert b"SNJ-DISDUKCAPIL" not in body, "the payload is encrypted for the browser"
    scheme, _, credentials = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(p.strip().split("=", 1) for p in credentials.split(","))
    assert parts["k"] == providers.vapid_public_key(settings)
    claims = jwt.decode(parts["t"], options={"verify_signature": False})
    assert claims["aud"] == base and claims["sub"] == settings.vapid_subject
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), base64.urlsafe_b64decode(parts["k"] + "==")
    )
    jwt.decode(parts["t"], public, algorithms=["ES256"], audience=base)

    assert await status_of(engine, delivered) == "delivered"
    assert await status_of(engine, gone) == "permanent-failure"


async def test_the_app_learns_the_vapid_public_key(
    notifications: httpx.AsyncClient, settings: Settings
) -> None:
    answer = await notifications.get("/api/v1/notifications/push/key")
    assert answer.json() == {"public_key": providers.vapid_public_key(settings)}


SUBSCRIPTIONS = "/api/v1/notifications/push/subscriptions"


async def owners_of(engine: AsyncEngine, endpoint: str) -> list[str]:
    """Who holds a subscription to this browser's endpoint."""
    table = store.push_subscriptions
    async with engine.connect() as connection:
        rows = await connection.execute(select(table.c.citizen_id, table.c.subscription))
    return [owner for owner, text in rows if json.loads(text)["endpoint"] == endpoint]


async def test_another_citizen_reposting_a_browsers_endpoint_is_refused_and_takes_nothing(
    notifications: httpx.AsyncClient, tokens: Tokens
) -> None:
    endpoint = f"https://push.example.id/send/{secrets.token_hex(8)}"
    andi_id = f"citizen-{secrets.token_hex(4)}"
    andi = tokens.headers("citizen", subject=andi_id)
    budi = tokens.headers("citizen", subject=f"citizen-{secrets.token_hex(4)}")
    subscription = json.loads(browser_subscription(endpoint))

    first = await notifications.post(SUBSCRIPTIONS, json=subscription, headers=andi)
    again = await notifications.post(SUBSCRIPTIONS, json=subscription, headers=andi)
    taken = await notifications.post(SUBSCRIPTIONS, json=subscription, headers=budi)
    in_english = await notifications.post(
        SUBSCRIPTIONS, json=subscription, headers=budi | {"Accept-Language": "en"}
    )

    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert taken.status_code == 409, taken.text
    assert taken.headers["content-type"] == "application/problem+json"
    assert taken.json()["detail"] != in_english.json()["detail"]
    assert "browser" in in_english.json()["detail"]
    assert await owners_of(engine_of(notifications), endpoint) == [andi_id]


async def test_a_citizens_answers_are_not_stored_and_the_public_key_may_be(
    notifications: httpx.AsyncClient, tokens: Tokens
) -> None:
    subscription = json.loads(
        browser_subscription(f"https://push.example.id/{secrets.token_hex(8)}")
    )
    subscribed = await notifications.post(
        SUBSCRIPTIONS, json=subscription, headers=tokens.headers("citizen")
    )
    key = await notifications.get("/api/v1/notifications/push/key")
    assert subscribed.status_code == 201
    assert subscribed.headers["cache-control"] == "no-store"
    assert "no-store" not in key.headers.get("cache-control", "")
