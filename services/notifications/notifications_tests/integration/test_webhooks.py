"""Partners' webhooks on the real store, delivered over HTTP to a real receiver (uvicorn on a free
local port) that answers as each test scripts it, signatures checked with standardwebhooks."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mpp_shared import db, events, problems, topics
from mpp_shared.auth import AUDIENCE, ISSUER, AuthSettings, TokenVerifier, public_jwk
from mpp_shared.contracts.applications import ApplicationApproved, ApplicationSubmitted
from mpp_shared.contracts.documents import DocumentUploaded
from mpp_shared.testing import Databases, Tokens, eventually, mailbox, settings_for, sms_address
from notifications.settings import Settings
from notifications.webhooks import api as webhooks_api
from notifications.webhooks import deliveries, service, store
from notifications.webhooks.models import StoredDelivery

from ..conftest import citizen, engine_of, own_database
from ..conftest import event as happened
from ..conftest import submitted as application_of

# Production requires a VAPID key; any P-256 key will do here.
VAPID_PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)

AGENCY = "BPJSKES"
SLOW = 0  # a scripted answer that comes after the sender's time-out
HANG = 1  # a scripted answer that comes only once the test releases the receiver
WRITE = ("subscriptions:write",)


# --- a receiver that answers as scripted ---------------------------------------------------------


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """Records every request per hook name; answers each hook's scripted statuses, then 200."""

    port: int = 0
    requests: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    scripts: dict[str, list[int]] = field(default_factory=dict)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, name: str, script: Iterable[int] = (), *, always: int | None = None) -> str:
        self.scripts[name] = [always] * 1000 if always else list(script)
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    async def handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.requests[name].append(Received(await request.body(), dict(request.headers)))
        script = self.scripts.get(name)
        status = script.pop(0) if script else 200
        if status == SLOW:
            await asyncio.sleep(3)
            return Response(status_code=200)
        if status == HANG:
            await self.released.wait()
            return Response(status_code=200)
        if status in (301, 302, 307, 308):
            return Response(status_code=status, headers={"location": self.url("redirected")})
        return Response(status_code=status)


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = Starlette(routes=[Route("/hooks/{name}", found.handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    found.port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started, timeout=10, interval=0.01)
    yield found
    server.should_exit = True
    await task


@pytest.fixture
async def hanging(receiver: Receiver) -> AsyncIterator[asyncio.Event]:
    """Set to release the receiver's HANG answers; set at the latest when the test ends."""
    receiver.released = asyncio.Event()
    yield receiver.released
    receiver.released.set()


# --- the webhooks API in a minimal app, on a database of its own per test ------------------------


def webhook_settings(namespace: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_timeout_seconds": 5.0,
        "webhook_max_attempts": 3,
        "webhook_disable_after_failures": 2,
    }
    return settings_for(Settings, namespace, **(values | overrides))


def production_settings(namespace: str) -> Settings:
    return webhook_settings(
        namespace,
        environment="production",
        secret_key=SecretStr(secrets.token_hex(32)),
        postgres_password=SecretStr(secrets.token_hex(32)),
        vapid_private_key=SecretStr(VAPID_PEM),
    )


@dataclass
class Hooks:
    """One test's API client, database and settings."""

    client: httpx.AsyncClient
    engine: AsyncEngine
    settings: Settings
    http: httpx.AsyncClient

    async def on_event(self, event: events.Event) -> int:
        async with db.transaction(self.engine) as connection:
            return await deliveries.on_event(connection, event)

    async def deliver_due(self, now: datetime | None = None) -> int:
        return await deliveries.deliver_due(
            self.engine, self.settings, self.http, now=now or datetime.now(UTC)
        )

    async def logged(self) -> list[StoredDelivery]:
        """Every delivery, as kept."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(store.deliveries.c.id))
            found = [await store.find_delivery(connection, row.id) for row in rows]
        return [d for d in found if d is not None]


@contextlib.asynccontextmanager
async def started(settings: Settings, postgres: Databases, tokens: Tokens) -> AsyncIterator[Hooks]:
    """The webhooks API on a database of its own: another test's subscriptions never match
    this test's events."""
    app = FastAPI()
    problems.install(app)
    app.include_router(webhooks_api.router)
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(AuthSettings(jwks=tokens.jwks))
    transport = httpx.ASGITransport(app=app)
    async with (
        own_database(postgres, settings.namespace, f"wh{secrets.token_hex(3)}") as (_, engine),
        httpx.AsyncClient(transport=transport, base_url="http://notifications") as client,
        httpx.AsyncClient(follow_redirects=False) as http,
    ):
        app.state.runtime = SimpleNamespace(engine=engine)
        yield Hooks(client=client, engine=engine, settings=settings, http=http)


@pytest.fixture
async def hooks(namespace: str, postgres: Databases, tokens: Tokens) -> AsyncIterator[Hooks]:
    async with started(webhook_settings(namespace), postgres, tokens) as found:
        yield found


def bearer(
    tokens: Tokens,
    *,
    role: str = "partner",
    subject: str | None = None,
    agency: str | None = AGENCY,
    scopes: Iterable[str] = WRITE,
) -> dict[str, str]:
    """A gateway token; partners' carry the `scope` claim, which Tokens.mint does not write."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject or f"partner:{secrets.token_hex(4)}",
        "role": role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
    }
    if agency:
        claims["agency"] = agency
    if scopes:
        claims["scope"] = " ".join(scopes)
    kid = public_jwk(tokens.key)["kid"]
    token = jwt.encode(claims, tokens.key, algorithm="EdDSA", headers={"kid": kid})
    return {"Authorization": f"Bearer {token}"}


async def subscribe(hooks: Hooks, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = await hooks.client.post("/api/v1/partners/subscriptions", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


# --- events as their producers publish them -------------------------------------------------------


def facts(agency: str) -> dict[str, Any]:
    return {
        "application_id": f"app-{secrets.token_hex(4)}",
        "tracking_number": f"SNJ-{agency}-20260108-{secrets.randbelow(10**6):06d}",
        "service_id": "svc-1",
        "service_version": 1,
        "agency": agency,
        "citizen_id": f"cit-{secrets.token_hex(4)}",
        "state": "submitted",
    }


def submitted(agency: str = AGENCY) -> events.Event:
    data = ApplicationSubmitted(**facts(agency), document_ids=["doc-1"])
    return events.new_event(
        type="applications.application.submitted.v1",
        source=topics.source_of("applications"),
        subject=data.application_id,
        data=data,
    )


def approved(agency: str = AGENCY) -> events.Event:
    data = ApplicationApproved(**(facts(agency) | {"state": "approved"}), electronic_output=True)
    return events.new_event(
        type="applications.application.approved.v1",
        source=topics.source_of("applications"),
        subject=data.application_id,
        data=data,
    )


def uploaded() -> events.Event:
    data = DocumentUploaded(
        document_id="doc-9", owner="cit-9", content_type="application/pdf", size=10, sha256="00"
    )
    return events.new_event(
        type="documents.document.uploaded.v1",
        source=topics.source_of("documents"),
        subject="doc-9",
        data=data,
    )


def verified(secret: str, request: Received) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


# --- delivering ----------------------------------------------------------------------------------


async def test_a_matching_event_is_delivered_signed_with_the_partners_secret(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    partner = bearer(tokens)
    created = await subscribe(
        hooks,
        partner,
        url=receiver.url("signed"),
        event_types=["applications.application.*"],
        description="Pendaftaran BPJS",
    )
    assert created["secret"].startswith("whsec_")
    assert created["agency"] == AGENCY, "a key bound to an agency gets that agency's events"
    event = submitted()

    assert await hooks.on_event(event) == 1
    assert await hooks.deliver_due() == 1

    [request] = receiver.requests["signed"]
    payload = verified(created["secret"], request)
    assert payload["type"] == "applications.application.submitted.v1"
    assert payload["id"] == event.id
    assert payload["subject"] == event.subject
    assert payload["timestamp"].endswith("Z")
    assert payload["data"] == event.data
    with pytest.raises(Exception, match="signature"):
        Webhook(service.new_secret()).verify(request.body, request.headers)

    log = await hooks.client.get(
        f"/api/v1/partners/subscriptions/{created['id']}/deliveries", headers=partner
    )
    [delivery] = log.json()["items"]
    assert delivery["id"] == request.headers["webhook-id"]
    assert delivery["event_id"] == event.id
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 200
    assert delivery["finished_at"] is not None


async def test_only_events_of_the_chosen_types_and_agency_are_recorded(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    partner = await subscribe(
        hooks,
        bearer(tokens),
        url=receiver.url("filtered"),
        event_types=["applications.application.submitted.v1"],
    )
    everything = await subscribe(
        hooks,
        bearer(tokens, role="mpp_admin", agency=None),
        url=receiver.url("all"),
        event_types=["*"],
    )

    assert await hooks.on_event(submitted("DUKCAPIL")) == 1, "only the unfiltered one"
    assert await hooks.on_event(approved(AGENCY)) == 1, "not a type the partner chose"
    assert await hooks.on_event(uploaded()) == 1, "no agency: not for an agency's filter"
    mine = submitted(AGENCY)
    assert await hooks.on_event(mine) == 2
    assert await hooks.deliver_due() == 5

    [request] = receiver.requests["filtered"]
    assert verified(partner["secret"], request)["id"] == mine.id
    assert len(receiver.requests["all"]) == 4
    assert {verified(everything["secret"], r)["type"] for r in receiver.requests["all"]} == {
        "applications.application.submitted.v1",
        "applications.application.approved.v1",
        "documents.document.uploaded.v1",
    }


async def test_only_the_chosen_fields_travel_beside_the_events_ids(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    headers = bearer(tokens)
    some = await subscribe(
        hooks,
        headers,
        url=receiver.url("fields"),
        event_types=["applications.application.submitted.v1"],
        fields=["tracking_number", "state"],
    )
    thin = await subscribe(
        hooks, headers, url=receiver.url("thin"), event_types=["applications.*"], fields=[]
    )
    event = submitted()
    await hooks.on_event(event)
    await hooks.deliver_due()

    payload = verified(some["secret"], receiver.requests["fields"][0])
    assert payload["data"] == {
        "tracking_number": event.data["tracking_number"],
        "state": "submitted",
    }
    ids_only = verified(thin["secret"], receiver.requests["thin"][0])
    assert ids_only["data"] == {}
    assert (ids_only["id"], ids_only["subject"], ids_only["type"]) == (
        event.id,
        event.subject,
        event.type,
    )


async def test_the_same_event_twice_is_delivered_once(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    await subscribe(hooks, bearer(tokens), url=receiver.url("twice"), event_types=["*"])
    event = submitted()

    assert await hooks.on_event(event) == 1
    assert await hooks.on_event(event) == 0
    # Two replicas polling at once: the claim lets one of them send.
    attempted = await asyncio.gather(hooks.deliver_due(), hooks.deliver_due())
    assert sum(attempted) == 1
    assert await hooks.on_event(event) == 0, "nor after it was delivered"
    assert await hooks.deliver_due() == 0
    assert len(receiver.requests["twice"]) == 1


async def test_a_receiver_failing_twice_gets_the_event_once_on_the_third_attempt(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    headers = bearer(tokens)
    created = await subscribe(
        hooks, headers, url=receiver.url("flaky", [500, 503]), event_types=["*"]
    )
    await hooks.on_event(submitted())
    start = datetime.now(UTC)

    assert await hooks.deliver_due(start) == 1
    assert await hooks.deliver_due(start) == 0, "the retry waits its backoff"
    assert await hooks.deliver_due(start + timedelta(minutes=1)) == 1
    assert await hooks.deliver_due(start + timedelta(seconds=80)) == 0, "30 s ± 20% later"
    assert await hooks.deliver_due(start + timedelta(hours=1)) == 1
    assert await hooks.deliver_due(start + timedelta(hours=9)) == 0

    tries = receiver.requests["flaky"]
    assert len(tries) == 3
    assert len({t.headers["webhook-id"] for t in tries}) == 1, "one id across retries"
    assert all(t.body == tries[0].body for t in tries)
    verified(created["secret"], tries[-1])
    log = await hooks.client.get(
        f"/api/v1/partners/subscriptions/{created['id']}/deliveries", headers=headers
    )
    [delivery] = log.json()["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "delivered",
        3,
        200,
    )


async def test_a_receiver_that_keeps_failing_is_switched_off_with_a_notice(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    headers = bearer(tokens)
    created = await subscribe(
        hooks, headers, url=receiver.url("down", always=500), event_types=["*"]
    )
    path = f"/api/v1/partners/subscriptions/{created['id']}"
    await hooks.on_event(submitted())
    await hooks.on_event(approved())
    start = datetime.now(UTC)
    for hours in range(3):  # webhook_max_attempts = 3 for each of the two deliveries
        assert await hooks.deliver_due(start + timedelta(hours=hours)) == 2

    switched_off = (await hooks.client.get(path, headers=headers)).json()
    assert switched_off["active"] is False
    assert switched_off["disabled_reason"] == "consecutive_failures"
    assert switched_off["consecutive_failures"] == 2
    assert switched_off["notice"]["code"] == "disabled_consecutive_failures"
    assert "PATCH" in switched_off["notice"]["message"]["en"]
    assert await hooks.on_event(submitted()) == 0, "nothing recorded while switched off"
    log = (await hooks.client.get(f"{path}/deliveries", headers=headers)).json()["items"]
    assert [d["status"] for d in log] == ["failed", "failed"]
    assert all(d["attempts"] == 3 and d["last_status_code"] == 500 for d in log)

    receiver.scripts["down"] = []
    again = await hooks.client.patch(path, json={"active": True}, headers=headers)
    assert again.status_code == 200
    assert again.json()["active"] is True
    assert again.json()["consecutive_failures"] == 0
    assert again.json()["notice"] is None
    assert await hooks.on_event(submitted()) == 1


async def test_a_redirect_is_a_failure_and_is_not_followed(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    await subscribe(hooks, bearer(tokens), url=receiver.url("moved", [307]), event_types=["*"])
    await hooks.on_event(submitted())
    assert await hooks.deliver_due() == 1
    assert receiver.requests["redirected"] == []
    [delivery] = await hooks.logged()
    assert (delivery.status, delivery.last_status_code) == ("pending", 307)


async def test_a_receiver_slower_than_the_time_out_is_a_failure(
    namespace: str, postgres: Databases, tokens: Tokens, receiver: Receiver
) -> None:
    impatient = webhook_settings(namespace, webhook_timeout_seconds=0.5)
    async with started(impatient, postgres, tokens) as hooks:
        await subscribe(hooks, bearer(tokens), url=receiver.url("slow", [SLOW]), event_types=["*"])
        await hooks.on_event(submitted())
        began = time.monotonic()
        assert await hooks.deliver_due() == 1
        assert time.monotonic() - began < 2.5
        [delivery] = await hooks.logged()
        assert (delivery.status, delivery.last_error) == ("pending", "timeout")


# --- a receiver that hangs ----------------------------------------------------------------------


async def test_a_hung_receiver_holds_up_neither_other_partners_nor_the_citizens_messages(
    notifications: httpx.AsyncClient,
    feed: Callable[..., Any],
    receiver: Receiver,
    tokens: Tokens,
    hanging: asyncio.Event,
) -> None:
    """The service's own loops: while one partner's receiver hangs, a new application's
    webhook to another partner and the citizen's e-mail and SMS go out at once."""
    hung, other = (f"{name}{secrets.token_hex(3).upper()}" for name in ("HUNG", "OTHER"))
    for agency, url in ((hung, receiver.url(hung, [HANG])), (other, receiver.url(other))):
        answer = await notifications.post(
            "/api/v1/partners/subscriptions",
            json={"url": url, "event_types": ["applications.application.submitted.v1"]},
            headers=bearer(tokens, agency=agency),
        )
        assert answer.status_code == 201, answer.text
    await feed(submitted(hung))
    await eventually(lambda: receiver.requests[hung], timeout=10, interval=0.02)

    person = citizen()
    await feed(happened("identity.citizen.registered.v1", person.citizen_id, person, "gateway"))
    application = application_of(person.citizen_id, agency=other)
    await feed(
        happened(
            "applications.application.submitted.v1",
            application.application_id,
            application,
            "applications",
        )
    )
    await eventually(lambda: receiver.requests[other], timeout=8)
    await eventually(lambda: mailbox(person.email or ""), timeout=8)
    await eventually(lambda: mailbox(sms_address(person.phone)), timeout=8)

    async with engine_of(notifications).connect() as connection:
        held = await store.find_delivery(
            connection, receiver.requests[hung][0].headers["webhook-id"]
        )
    assert held is not None and (held.status, held.attempts) == ("pending", 0), "still hanging"


async def test_a_retry_after_a_time_out_is_backed_off_from_the_end_of_the_attempt(
    namespace: str, postgres: Databases, tokens: Tokens, receiver: Receiver, hanging: asyncio.Event
) -> None:
    patient = webhook_settings(namespace, webhook_timeout_seconds=2.5)
    async with started(patient, postgres, tokens) as hooks:
        url = receiver.url("hung-retry", [HANG])
        await subscribe(hooks, bearer(tokens), url=url, event_types=["*"])
        await hooks.on_event(submitted())
        before = datetime.now(UTC)
        assert await deliveries.deliver_due(hooks.engine, patient, hooks.http) == 1
        [delivery] = await hooks.logged()
    assert (delivery.status, delivery.last_error) == ("pending", "timeout")
    ended = before + timedelta(seconds=patient.webhook_timeout_seconds)  # at the earliest
    first_retry = timedelta(seconds=deliveries.RETRY_SCHEDULE[0] * 0.8)  # at the soonest
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at >= ended + first_retry


async def test_a_delivery_waiting_for_a_free_slot_is_claimed_only_as_its_attempt_starts(
    hooks: Hooks, receiver: Receiver, tokens: Tokens, hanging: asyncio.Event
) -> None:
    """Its lease counts from its own attempt: counted from the first ones', it could end while
    the delivery is still being sent, and another replica would send it a second time."""
    slots = deliveries.ATTEMPTS_PER_SUBSCRIPTION
    url = receiver.url("hung-queue", [HANG] * (slots + 1))
    await subscribe(hooks, bearer(tokens), url=url, event_types=["*"])
    for _ in range(slots + 1):
        await hooks.on_event(submitted())
    sending = asyncio.create_task(deliveries.deliver_due(hooks.engine, hooks.settings, hooks.http))
    await eventually(
        lambda: len(receiver.requests["hung-queue"]) >= slots, timeout=10, interval=0.02
    )

    now = datetime.now(UTC)
    leased = [d for d in await hooks.logged() if d.next_attempt_at and d.next_attempt_at > now]
    assert len(leased) == slots, "only the deliveries being sent are claimed"
    hanging.set()
    assert await sending == slots + 1
    assert [d.status for d in await hooks.logged()] == ["delivered"] * (slots + 1)
    sent = {r.headers["webhook-id"] for r in receiver.requests["hung-queue"]}
    assert len(sent) == len(receiver.requests["hung-queue"]) == slots + 1


async def test_a_receiver_answering_410_gone_is_switched_off_at_once(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    headers = bearer(tokens)
    created = await subscribe(hooks, headers, url=receiver.url("gone", [410]), event_types=["*"])
    await hooks.on_event(submitted())
    assert await hooks.deliver_due() == 1
    found = await hooks.client.get(
        f"/api/v1/partners/subscriptions/{created['id']}", headers=headers
    )
    assert (found.json()["active"], found.json()["disabled_reason"]) == (False, "gone")


async def test_after_a_rotation_both_secrets_verify_for_a_while(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    headers = bearer(tokens)
    created = await subscribe(hooks, headers, url=receiver.url("rotated"), event_types=["*"])
    rotated = await hooks.client.post(
        f"/api/v1/partners/subscriptions/{created['id']}/secret", headers=headers
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"]
    await hooks.on_event(submitted())
    await hooks.deliver_due()

    [request] = receiver.requests["rotated"]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verified(new_secret, request)
    verified(created["secret"], request)


async def test_a_test_ping_is_sent_at_once_and_logged(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    headers = bearer(tokens)
    created = await subscribe(hooks, headers, url=receiver.url("ping"), event_types=["*"])
    answer = await hooks.client.post(
        f"/api/v1/partners/subscriptions/{created['id']}/test", headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["last_status_code"]) == ("delivered", 200)
    [request] = receiver.requests["ping"]
    payload = verified(created["secret"], request)
    assert payload["type"] == "partners.test"
    assert payload["data"]["subscription_id"] == created["id"]


# --- addresses -----------------------------------------------------------------------------------


async def test_internal_urls_are_refused_when_private_addresses_are_not_allowed(
    namespace: str, postgres: Databases, tokens: Tokens, receiver: Receiver
) -> None:
    production = production_settings(namespace)
    assert not production.webhooks_may_reach_private_addresses
    async with started(production, postgres, tokens) as hooks:
        for url in (
            receiver.url("never"),
            f"https://127.0.0.1:{receiver.port}/hooks/never",
            f"https://localhost:{receiver.port}/hooks/never",
            "https://169.254.169.254/latest/meta-data",
        ):
            refused = await hooks.client.post(
                "/api/v1/partners/subscriptions",
                json={"url": url, "event_types": ["*"]},
                headers=bearer(tokens),
            )
            assert refused.status_code == 422, url
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["errors"][0]["field"] == "url"


async def test_an_address_is_checked_again_before_each_attempt(
    hooks: Hooks, namespace: str, tokens: Tokens
) -> None:
    # Accepted where private addresses are allowed; in production the host now resolves to an
    # internal address (as after DNS rebinding), so the attempt is refused before it is sent.
    await subscribe(hooks, bearer(tokens), url="https://localhost:9/hook", event_types=["*"])
    await hooks.on_event(submitted())
    production = production_settings(namespace)
    assert await deliveries.deliver_due(hooks.engine, production, hooks.http) == 1
    [delivery] = await hooks.logged()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == "address refused: loopback"


# --- who may do what -----------------------------------------------------------------------------


async def test_another_partners_subscription_is_a_404(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    owner = bearer(tokens)
    created = await subscribe(hooks, owner, url=receiver.url("theirs"), event_types=["*"])
    path = f"/api/v1/partners/subscriptions/{created['id']}"
    other = bearer(tokens)
    for method, url in (
        ("GET", path),
        ("PATCH", path),
        ("DELETE", path),
        ("POST", f"{path}/secret"),
        ("POST", f"{path}/test"),
        ("GET", f"{path}/deliveries"),
    ):
        body = {"active": False} if method == "PATCH" else None
        answer = await hooks.client.request(method, url, json=body, headers=other)
        assert answer.status_code == 404, (method, url)
    assert (await hooks.client.get("/api/v1/partners/subscriptions", headers=other)).json() == {
        "items": []
    }
    admin = bearer(tokens, role="mpp_admin", agency=None, scopes=())
    assert (await hooks.client.get(path, headers=admin)).status_code == 200
    listed = await hooks.client.get("/api/v1/partners/subscriptions", headers=admin)
    assert created["id"] in [s["id"] for s in listed.json()["items"]]
    assert receiver.requests["theirs"] == [], "the other partner's ping was not sent"


@pytest.mark.parametrize(
    ("role", "scopes", "status"),
    [
        ("citizen", (), 403),
        ("officer", (), 403),
        ("partner", ("applications:read",), 403),
        (None, (), 401),
    ],
)
async def test_only_partners_with_the_scope_and_administrators_manage_webhooks(
    hooks: Hooks, tokens: Tokens, role: str | None, scopes: tuple[str, ...], status: int
) -> None:
    headers = bearer(tokens, role=role, scopes=scopes) if role else {}
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
    created = await hooks.client.post("/api/v1/partners/subscriptions", json=body, headers=headers)
    listed = await hooks.client.get("/api/v1/partners/subscriptions", headers=headers)
    assert (created.status_code, listed.status_code) == (status, status)


async def test_a_key_bound_to_an_agency_cannot_subscribe_to_another_agencys_events(
    hooks: Hooks, tokens: Tokens
) -> None:
    answer = await hooks.client.post(
        "/api/v1/partners/subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "agency": "DUKCAPIL"},
        headers=bearer(tokens),
    )
    assert answer.status_code == 403


# --- what may be subscribed to -------------------------------------------------------------------


async def test_unknown_and_private_event_types_are_refused_by_name(
    hooks: Hooks, tokens: Tokens
) -> None:
    wanted = [
        "applications.application.*",
        "identity.citizen.registered.v1",
        "identity.*",
        "documents.output.pin_issued.v1",
        "notifications.*",
        "nope",
    ]
    answer = await hooks.client.post(
        "/api/v1/partners/subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": wanted},
        headers=bearer(tokens),
    )
    assert answer.status_code == 422
    assert answer.json()["unknown_event_types"] == wanted[1:]
    assert "identity.citizen.registered.v1" in answer.json()["errors"][0]["message"]


async def test_fields_must_belong_to_the_chosen_types(hooks: Hooks, tokens: Tokens) -> None:
    answer = await hooks.client.post(
        "/api/v1/partners/subscriptions",
        json={
            "url": "http://127.0.0.1:9/hook",
            "event_types": ["documents.document.uploaded.v1"],
            "fields": ["sha256", "tracking_number", "nik"],
        },
        headers=bearer(tokens, agency=None),
    )
    assert answer.status_code == 422
    assert answer.json()["unknown_fields"] == ["tracking_number", "nik"]


async def test_changing_the_types_rechecks_the_fields(hooks: Hooks, tokens: Tokens) -> None:
    headers = bearer(tokens)
    created = await subscribe(
        hooks,
        headers,
        url="http://127.0.0.1:9/hook",
        event_types=["applications.*"],
        fields=["tracking_number"],
    )
    path = f"/api/v1/partners/subscriptions/{created['id']}"
    refused = await hooks.client.patch(
        path, json={"event_types": ["catalog.service.published.v1"]}, headers=headers
    )
    assert refused.status_code == 422
    changed = await hooks.client.patch(
        path,
        json={"event_types": ["catalog.service.published.v1"], "fields": ["slug"]},
        headers=headers,
    )
    assert changed.status_code == 200
    assert (changed.json()["event_types"], changed.json()["fields"]) == (
        ["catalog.service.published.v1"],
        ["slug"],
    )


# --- twice equals once ---------------------------------------------------------------------------


async def test_creating_twice_with_one_idempotency_key_makes_one_subscription(
    hooks: Hooks, tokens: Tokens
) -> None:
    headers = bearer(tokens) | {"Idempotency-Key": f"create-{secrets.token_hex(4)}"}
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
    first = await hooks.client.post("/api/v1/partners/subscriptions", json=body, headers=headers)
    again = await hooks.client.post("/api/v1/partners/subscriptions", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json(), "the retry gets the same subscription and secret"
    other = await hooks.client.post(
        "/api/v1/partners/subscriptions", json=body | {"description": "x"}, headers=headers
    )
    assert other.status_code == 422
    listed = await hooks.client.get("/api/v1/partners/subscriptions", headers=headers)
    assert len(listed.json()["items"]) == 1


async def test_two_concurrent_creations_with_one_idempotency_key_make_one_subscription(
    hooks: Hooks, tokens: Tokens
) -> None:
    headers = bearer(tokens) | {"Idempotency-Key": f"race-{secrets.token_hex(4)}"}
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
    answers = await asyncio.gather(
        *(
            hooks.client.post("/api/v1/partners/subscriptions", json=body, headers=headers)
            for _ in range(3)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert len({a.json()["secret"] for a in answers}) == 1
    listed = await hooks.client.get("/api/v1/partners/subscriptions", headers=headers)
    assert len(listed.json()["items"]) == 1


async def test_of_two_concurrent_changes_from_one_version_exactly_one_wins(
    hooks: Hooks, tokens: Tokens
) -> None:
    created = await subscribe(
        hooks, bearer(tokens), url="http://127.0.0.1:9/hook", event_types=["*"]
    )

    async def change(description: str) -> Any:
        async with db.transaction(hooks.engine) as connection:
            return await store.update_subscription(
                connection,
                created["id"],
                expected_version=1,
                changes={"description": description},
            )

    changed = await asyncio.gather(*(change(f"change {n}") for n in range(3)))
    [winner] = [c for c in changed if c is not None]
    assert winner.version == 2


async def test_deleting_twice_is_a_404_the_second_time_and_stops_deliveries(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    headers = bearer(tokens)
    created = await subscribe(hooks, headers, url=receiver.url("deleted"), event_types=["*"])
    await hooks.on_event(submitted())
    path = f"/api/v1/partners/subscriptions/{created['id']}"
    assert (await hooks.client.delete(path, headers=headers)).status_code == 204
    assert (await hooks.client.delete(path, headers=headers)).status_code == 404
    assert await hooks.deliver_due() == 0
    assert await hooks.on_event(submitted()) == 0
    assert receiver.requests["deleted"] == []


async def test_the_delivery_log_pages_newest_first(
    hooks: Hooks, receiver: Receiver, tokens: Tokens
) -> None:
    headers = bearer(tokens)
    created = await subscribe(hooks, headers, url=receiver.url("paged"), event_types=["*"])
    sent = [submitted() for _ in range(3)]
    for event in sent:
        await hooks.on_event(event)
        await asyncio.sleep(0.005)
    path = f"/api/v1/partners/subscriptions/{created['id']}/deliveries"
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await hooks.client.get(path, params=params, headers=headers)).json()
        seen += [d["event_id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [e.id for e in reversed(sent)]
