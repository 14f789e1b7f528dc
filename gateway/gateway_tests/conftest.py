"""The gateway in-process on the real store and bus; citizens and staff to play with.

No service runs behind it here: a proxied call that the gateway admits answers 503, one it
refuses answers 401 or 403, which is what these tests look at.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app
from gateway.settings import Settings
from mpp_shared import db, events, topics
from mpp_shared.contracts import Contract
from mpp_shared.contracts.applications import (
    ApplicationCancelled,
    ApplicationCompleted,
    ApplicationRejected,
    ApplicationStatusChanged,
    ApplicationSubmitted,
)
from mpp_shared.settings import DEVELOPMENT_SECRET
from mpp_shared.testing import KAFKA, Databases, feeder, in_process, read_topic, settings_for

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


def make_gateway_settings(namespace: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "catalog_url": CLOSED,
        "applications_url": CLOSED,
        "documents_url": CLOSED,
        "notifications_url": CLOSED,
        "rate_limit_per_client": "10000/minute",
        "rate_limit_auth_per_client": "10000/minute",
        "otp_resend_seconds": 0,
        "login_slow_after": 3,
        "login_lock_after": 5,
    }
    return settings_for(Settings, namespace, **(values | overrides))


@pytest.fixture(scope="session")
def gateway_settings(namespace: str) -> Settings:
    return make_gateway_settings(namespace)


async def started(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(create_app(settings), base_url="http://gateway") as client:
        yield client


@pytest.fixture(scope="session")
async def gateway(
    gateway_settings: Settings, postgres: Databases, kafka: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway API."""
    async for client in started(gateway_settings):
        yield client


@pytest.fixture(scope="session")
async def engine(gateway_settings: Settings, postgres: Databases) -> AsyncIterator[AsyncEngine]:
    """The gateway's own database, migrated."""
    await db.migrate(gateway_settings, "gateway.migrations")
    created = db.create_engine(gateway_settings)
    yield created
    await created.dispose()


def new_nik(*, female: bool = False) -> str:
    """A structurally valid NIK from Sinjai (73.07), random birth date and serial."""
    day = secrets.randbelow(28) + 1 + (40 if female else 0)
    month = secrets.randbelow(12) + 1
    year = secrets.randbelow(40) + 60
    return f"730701{day:02d}{month:02d}{year:02d}{secrets.randbelow(9000) + 1000:04d}"


def new_phone() -> str:
    """A random Telkomsel number as people type it."""
    return f"0812{secrets.randbelow(10**8):08d}"


def e164(phone: str) -> str:
    return "+62" + phone[1:]


PASSWORD = "kuda lari di pantai"


async def otp_code(settings: Settings, phone: str, *, purpose: str = "verify_phone") -> str:
    """The latest code sent to a phone, read from the OTP topic as the notifications service would."""

    def codes(records: list[Any]) -> list[str]:
        found = []
        for record in records:
            data = json.loads(record.value)["data"]
            if data["phone"] == e164(phone) and data["purpose"] == purpose:
                found.append(data["code"])
        return found

    seen = await read_topic(
        KAFKA, settings.topic("identity.otp"), until=lambda r: bool(codes(r)), timeout=20
    )
    # Read on briefly so a code sent just now is not missed behind an older one.
    return codes(seen)[-1]


@pytest.fixture
def register(gateway: httpx.AsyncClient, gateway_settings: Settings) -> Callable[..., Any]:
    """Register a citizen; `verified=True` also verifies the phone. Returns details and tokens."""

    async def make(*, verified: bool = True, **fields: Any) -> dict[str, Any]:
        body = {
            "nik": new_nik(),
            "name": "Andi Baso",
            "phone": new_phone(),
            "password": PASSWORD,
        } | fields
        response = await gateway.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        result = body | {"id": response.json()["id"]}
        if verified:
            code = await otp_code(gateway_settings, body["phone"])
            verified_response = await gateway.post(
                "/api/v1/auth/verify-phone", json={"phone": body["phone"], "code": code}
            )
            assert verified_response.status_code == 200, verified_response.text
            result["tokens"] = verified_response.json()
        return result

    return make


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


@pytest.fixture
async def admin(gateway: httpx.AsyncClient) -> dict[str, str]:
    """The bootstrap administrator's Authorization header."""
    response = await sign_in(gateway, "admin", DEVELOPMENT_SECRET)
    assert response.status_code == 200, response.text
    return bearer(response.json())


@pytest.fixture
def staff(gateway: httpx.AsyncClient, admin: dict[str, str]) -> Callable[..., Any]:
    """Create a staff account and sign it in; returns (account, Authorization header)."""

    async def make(
        role: str, agency: str | None = None, *, by: dict[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        username = f"{role.replace('_', '')}.{secrets.token_hex(3)}"
        created = await gateway.post(
            "/api/v1/auth/staff",
            json={
                "username": username,
                "name": f"Petugas {username}",
                "role": role,
                "agency": agency,
                "password": PASSWORD,
            },
            headers=by or admin,
        )
        assert created.status_code == 201, created.text
        signed = await sign_in(gateway, username, PASSWORD)
        assert signed.status_code == 200, signed.text
        return created.json(), bearer(signed.json())

    return make


# --- applications, as the applications service announces them -------------------------------


def application_event(
    kind: str,
    *,
    citizen_id: str,
    agency: str,
    application_id: str | None = None,
    requires_full_nik: bool = False,
    state: str | None = None,
    at: datetime | None = None,
    **extra: Any,
) -> events.Event:
    """An `applications.application.<kind>.v1` event of one application (a new one unless
    `application_id` is given), in `state` (by default the one its kind leads to); `at`
    backdates it."""
    application_id = application_id or f"app-{secrets.token_hex(6)}"
    facts: dict[str, Any] = {
        "application_id": application_id,
        "tracking_number": f"SNJ-{agency}-20261201-{secrets.randbelow(10**6):06d}",
        "service_id": "svc-uji",
        "service_version": 1,
        "agency": agency,
        "citizen_id": citizen_id,
        "state": state or {"status_changed": "in_review"}.get(kind, kind),
    }
    data: Contract = {
        "submitted": lambda: ApplicationSubmitted(
            **facts, document_ids=[], requires_full_nik=requires_full_nik
        ),
        "status_changed": lambda: ApplicationStatusChanged(
            **facts, from_state="submitted", action="act", actor_role="officer", **extra
        ),
        "completed": lambda: ApplicationCompleted(**facts, electronic_output=False),
        "rejected": lambda: ApplicationRejected(**facts, reason="Berkas tidak sesuai."),
        "cancelled": lambda: ApplicationCancelled(**facts),
    }[kind]()
    event = events.new_event(data, source=topics.source_of("applications"), subject=application_id)
    return dataclasses.replace(event, time=at) if at else event


@pytest.fixture
def feed(gateway: httpx.AsyncClient) -> Callable[..., Any]:
    """Hand events to the gateway's consumer handlers, as if they came from Kafka."""
    return feeder(gateway)


@pytest.fixture
def handles(feed: Callable[..., Any]) -> Callable[..., Any]:
    """Tell the gateway that an agency handles a (new) application of a citizen, as the
    applications service would; returns the application's id."""

    async def tell(agency: str, citizen_id: str, *, requires_full_nik: bool = False) -> str:
        submitted = application_event(
            "submitted", citizen_id=citizen_id, agency=agency, requires_full_nik=requires_full_nik
        )
        await feed(submitted)
        return submitted.subject

    return tell
