"""The command center's delivery figures on the real store: today (the mall's local day) and the
last 24 hours, per channel and status, and the share of the finished messages that arrived."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from mpp_shared import db, problems
from mpp_shared.auth import AuthSettings, TokenVerifier
from mpp_shared.testing import Databases, Tokens
from notifications import api, messages, store
from notifications.models import Message

from ..conftest import citizen, event, own_database, submitted

PATH = "/api/v1/notifications/ops/deliveries"


@pytest.fixture(scope="module")
async def engine(postgres: Databases, namespace: str) -> AsyncIterator[AsyncEngine]:
    """A database of its own, so the counts are exactly the messages put there."""
    async with own_database(postgres, namespace, "figures") as (_, engine):
        yield engine


@pytest.fixture(scope="module")
async def client(engine: AsyncEngine, tokens: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    problems.install(app)
    app.include_router(api.router)
    app.state.runtime = SimpleNamespace(engine=engine)
    app.state.token_verifier = TokenVerifier(AuthSettings(jwks=tokens.jwks))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as c:
        yield c


def message(channel: str, status: str, created_at: dt.datetime, **fields: Any) -> Message:
    """A stored message as far as the figures read it."""
    retrying = status in ("created", "temporary-failure", "technical-failure")
    values: dict[str, Any] = {
        "id": f"msg-{secrets.token_hex(6)}",
        "event_id": "evt",
        "event_type": "applications.application.submitted.v1",
        "channel": channel,
        "to": "someone",
        "citizen_id": "c",
        "subject": None,
        "text": "Permohonan Anda diterima.",
        "status": status,
        "attempts": 1,
        "created_at": created_at,
        "updated_at": created_at,
        "next_attempt_at": created_at + dt.timedelta(minutes=1) if retrying else None,
    }
    return Message.model_validate(values | fields)


async def test_figures_count_today_and_the_last_day_per_channel_and_status(
    client: httpx.AsyncClient, engine: AsyncEngine, tokens: Tokens
) -> None:
    now = dt.datetime.now(dt.UTC)
    midnight = dt.datetime.combine(now.astimezone(messages.ZONE).date(), dt.time())
    midnight = midnight.replace(tzinfo=messages.ZONE)
    today = midnight + (now - midnight) / 2
    yesterday = midnight - (midnight - (now - dt.timedelta(hours=24))) / 2
    stored = [
        message("email", "delivered", today),
        message("email", "delivered", today),
        message("email", "permanent-failure", today),
        message("email", "temporary-failure", today),  # retried later: not finished
        message("sms", "technical-failure", today, next_attempt_at=None),  # out of retries
        message("sms", "sending", today),
        message("inbox", "delivered", today),
        message("whatsapp", "delivered", yesterday),
        message("email", "delivered", now - dt.timedelta(hours=25)),  # older than a day
    ]
    async with db.transaction(engine) as connection:
        for one in stored:
            await store.insert_message(connection, one)

    response = await client.get(PATH, headers=tokens.headers("ops_viewer"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "Asia/Makassar"
    assert dt.datetime.fromisoformat(body["today"]["since"]) == midnight
    day = body["today"]
    assert day["total"] == 7
    assert day["by_status"] == {
        "created": 0,
        "sending": 1,
        "delivered": 3,
        "temporary-failure": 1,
        "technical-failure": 1,
        "permanent-failure": 1,
    }
    assert day["failed"] == 2
    assert day["delivery_rate"] == round(3 / 5, 4)
    channels = {c["channel"]: c for c in day["channels"]}
    assert list(channels) == list(messages.CHANNELS), "every channel, in a fixed order"
    assert (channels["email"]["total"], channels["email"]["failed"]) == (4, 1)
    assert channels["email"]["delivery_rate"] == round(2 / 3, 4)
    assert channels["sms"]["delivery_rate"] == 0.0
    assert channels["whatsapp"]["total"] == 0
    assert channels["whatsapp"]["delivery_rate"] is None, "nothing finished"
    assert channels["push"] == {
        "channel": "push",
        "total": 0,
        "by_status": dict.fromkeys(channels["push"]["by_status"], 0),
        "failed": 0,
        "delivery_rate": None,
    }
    last_day = body["last_24h"]
    assert last_day["total"] == 8, "yesterday's WhatsApp message too, not the older e-mail"
    assert {c["channel"]: c["total"] for c in last_day["channels"]}["whatsapp"] == 1
    assert last_day["delivery_rate"] == round(4 / 6, 4)


@pytest.mark.parametrize("role", ["officer", "agency_admin", "mpp_admin", "ops_viewer"])
async def test_every_staff_role_reads_the_figures(
    client: httpx.AsyncClient, tokens: Tokens, role: str
) -> None:
    agency = "DUKCAPIL" if role in ("officer", "agency_admin") else None
    response = await client.get(PATH, headers=tokens.headers(role, agency=agency))
    assert response.status_code == 200, response.text


async def test_citizens_partners_and_anonymous_callers_do_not(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    assert (await client.get(PATH, headers=tokens.headers("citizen"))).status_code == 403
    assert (await client.get(PATH, headers=tokens.headers("partner"))).status_code == 403
    anonymous = await client.get(PATH)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


async def test_the_service_counts_the_messages_it_plans(
    notifications: httpx.AsyncClient, tokens: Tokens, feed: Callable[..., Any]
) -> None:
    def inbox_delivered(figures: dict[str, Any]) -> int:
        inbox = {c["channel"]: c for c in figures["today"]["channels"]}["inbox"]
        return int(inbox["by_status"]["delivered"])

    async def figures() -> dict[str, Any]:
        response = await notifications.get(PATH, headers=tokens.headers("officer", agency="X"))
        assert response.status_code == 200, response.text
        return dict(response.json())

    before = inbox_delivered(await figures())
    person = citizen(email=None)
    await feed(event("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    application = submitted(person.citizen_id)
    await feed(
        event(
            "applications.application.submitted.v1",
            application.application_id,
            application,
            "applications",
        )
    )
    # Inbox messages are delivered as they are planned (other tests' events may add more).
    assert inbox_delivered(await figures()) >= before + 1
