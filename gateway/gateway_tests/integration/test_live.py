"""The command center's live stream, read as a browser reads it: through a real HTTP server (an
in-process ASGI transport waits for the whole answer, which a stream never finishes), staff only,
one `figures` event with every part; a part that cannot be read is null, with why."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import api as applications_api
from applications import service as applications_service
from applications import store as applications_store
from applications.surveys import api as surveys_api
from applications.workdays import WorkingCalendar
from gateway.pipeline import PipelineProbe
from gateway.settings import Settings
from mpp_shared import db, problems
from mpp_shared.auth import AuthSettings, TokenVerifier
from mpp_shared.ids import new_id
from mpp_shared.settings import ServiceSettings
from mpp_shared.testing import Databases, settings_for
from notifications import api as notifications_api
from notifications import store as notifications_store

from ..conftest import bearer, make_gateway_settings, started

LIVE = "/api/v1/ops/live"


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """The app (already started, or needing no start) behind a real HTTP server on a free local
    port; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_config=None, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            assert not serving.done(), "the server did not start"
            await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def events(response: httpx.Response) -> AsyncIterator[tuple[str | None, Any]]:
    """The events of a stream as they come: (name, data)."""
    name = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))
        elif not line:
            name = None


async def first_event(
    base_url: str, headers: dict[str, str]
) -> tuple[httpx.Response, dict[str, Any]]:
    """The first `figures` event on the live stream, and the answer it came in."""
    async with (
        asyncio.timeout(20),
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", LIVE, headers=headers | {"Accept": "text/event-stream"}) as response,
    ):
        assert response.status_code == 200, await response.aread()
        async for name, data in events(response):
            if name == "figures":
                return response, data
    raise AssertionError("the stream ended before a figures event")


async def test_staff_get_figures_with_what_cannot_be_read_null_and_why(
    gateway: httpx.AsyncClient, staff: Callable[..., Any], namespace: str
) -> None:
    """No service runs behind this gateway: their parts are null; Kafka's is read."""
    _, officer = await staff("officer", "DUKCAPIL")
    async with served(gateway.app) as base_url:  # type: ignore[attr-defined]
        response, figures = await first_event(base_url, officer)

    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert set(figures) == {"at", "applications", "ikm", "deliveries", "pipeline", "errors"}
    assert dt.datetime.fromisoformat(figures["at"]).tzinfo is not None
    assert (figures["applications"], figures["ikm"], figures["deliveries"]) == (None, None, None)
    assert figures["errors"] == {
        "applications": "applications unavailable: ConnectError",
        "ikm": "applications unavailable: ConnectError",
        "deliveries": "notifications unavailable: ConnectError",
    }
    pipeline = figures["pipeline"]
    assert pipeline["available"] is True
    assert set(pipeline) >= {"at", "consumers", "dead_letters", "total_lag", "total_dead_letters"}
    topics = {d["topic"]: d["size"] for d in pipeline["dead_letters"]}
    assert f"{namespace}.gateway.dlq" in topics, "the gateway's own dead-letter topic"
    assert pipeline["total_dead_letters"] == sum(topics.values())


async def test_kafka_away_leaves_the_pipeline_null_and_says_why(
    gateway: httpx.AsyncClient, namespace: str, staff: Callable[..., Any]
) -> None:
    _, viewer = await staff("ops_viewer")
    app = gateway.app  # type: ignore[attr-defined]
    kept = app.state.pipeline
    away = make_gateway_settings(namespace, kafka_bootstrap="127.0.0.1:9")
    app.state.pipeline = PipelineProbe(away)
    try:
        async with served(app) as base_url:
            _, figures = await first_event(base_url, viewer)
    finally:
        await app.state.pipeline.close()
        app.state.pipeline = kept

    assert figures["pipeline"] is None
    assert figures["errors"]["pipeline"].startswith("unavailable: ")
    assert figures["errors"]["applications"] == "applications unavailable: ConnectError"


async def test_anonymous_callers_get_401_and_others_than_staff_403(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    anonymous = await gateway.get(LIVE, headers={"Accept": "text/event-stream"})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    citizen = await register()
    refused = await gateway.get(
        LIVE,
        headers=bearer(citizen["tokens"])
        | {"Accept": "text/event-stream", "Accept-Language": "en"},
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only staff may see this."
    forged = await gateway.get(LIVE, headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401


async def own_database(
    postgres: Databases, namespace: str, name: str, migrations: str
) -> AsyncEngine:
    """A migrated database of this test's own for a service (apart from the service's tests')."""
    settings = settings_for(ServiceSettings, namespace, service_name=name)
    await postgres.create(settings)
    await db.migrate(settings, migrations)
    return db.create_engine(settings)


@pytest.fixture
async def services(
    postgres: Databases, namespace: str, gateway: httpx.AsyncClient
) -> AsyncIterator[dict[str, Any]]:
    """The applications' and notifications' command center routes on databases of their own,
    checking the gateway's tokens, with one open application and one delivered message; and how
    many calls reached the applications service."""
    jwks = (await gateway.get("/api/v1/.well-known/jwks.json")).json()
    verifier = TokenVerifier(AuthSettings(jwks=json.dumps(jwks)))
    now = dt.datetime.now(dt.UTC)

    applications_db = await own_database(
        postgres, namespace, "applications_live", "applications.migrations"
    )
    async with applications_db.begin() as connection:
        await connection.execute(delete(applications_store.application_history))
        await connection.execute(delete(applications_store.applications))
        await connection.execute(
            insert(applications_store.applications).values(
                id="app-live-1",
                tracking_number="MPP-LIVE-1",
                citizen_id="citizen-live-1",
                service_id="service-live-1",
                service_slug="layanan-live",
                service_version=1,
                agency="DUKCAPIL",
                state="submitted",
                open=True,
                form={},
                documents=[],
                submitted_at=now,
                updated_at=now,
                state_entered_at=now,
                due_at=now + dt.timedelta(days=1),
                overall_due_at=now + dt.timedelta(days=3),
                version=1,
                check_code="K7QX4M",
            )
        )
    applications = FastAPI()
    problems.install(applications)
    applications.include_router(applications_api.router)
    applications.include_router(surveys_api.router)
    applications.state.runtime = SimpleNamespace(engine=applications_db)
    applications.state.calendar = WorkingCalendar()
    applications.state.figures = applications_service.Figures(max_age=0)
    applications.state.token_verifier = verifier
    calls = {"applications": 0}

    @applications.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Any:
        calls["applications"] += 1
        return await call_next(request)

    notifications_db = await own_database(
        postgres, namespace, "notifications_live", "notifications.migrations"
    )
    async with notifications_db.begin() as connection:
        await connection.execute(delete(notifications_store.message_history))
        await connection.execute(delete(notifications_store.messages))
    await deliver(notifications_db, now)
    notifications = FastAPI()
    problems.install(notifications)
    notifications.include_router(notifications_api.router)
    notifications.state.runtime = SimpleNamespace(engine=notifications_db)
    notifications.state.token_verifier = verifier
    yield {
        "applications": applications,
        "notifications": notifications,
        "notifications_db": notifications_db,
        "calls": calls,
    }
    await applications_db.dispose()
    await notifications_db.dispose()


async def deliver(engine: AsyncEngine, now: dt.datetime) -> None:
    """A stored e-mail as far as the delivery figures read it."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(notifications_store.messages).values(
                id=new_id(),
                event_id=new_id(),
                event_type="applications.application.submitted.v1",
                channel="email",
                recipient="andi@example.id",
                text="Permohonan diterima.",
                status="delivered",
                attempts=1,
                next_attempt_at=None,
                created_at=now,
                updated_at=now,
            )
        )


@pytest.fixture
async def live(namespace: str, services: dict[str, Any]) -> AsyncIterator[str]:
    """A gateway in front of those services, reading the figures five times a second; its URL."""
    async with (
        served(services["applications"]) as applications_url,
        served(services["notifications"]) as notifications_url,
    ):
        settings: Settings = make_gateway_settings(
            namespace,
            applications_url=applications_url,
            notifications_url=notifications_url,
            ops_live_interval=0.2,
        )
        async for gateway in started(settings):
            async with served(gateway.app) as base_url:  # type: ignore[attr-defined]
                yield base_url


async def test_the_figures_come_from_the_services_as_the_caller_may_see_them(
    live: str, staff: Callable[..., Any]
) -> None:
    _, officer = await staff("officer", "DUKCAPIL")

    _, figures = await first_event(live, officer)

    assert figures["errors"] == {}
    summary = figures["applications"]
    assert (summary["submitted_today"], summary["open"], summary["overdue"]) == (1, 1, 0)
    assert summary["by_state"] == {"submitted": 1}
    assert [a["agency"] for a in summary["agencies"]] == ["DUKCAPIL"]
    assert figures["ikm"]["agency"] == "DUKCAPIL", "an officer's token: their agency's index"
    assert figures["ikm"]["respondents"] == 0
    assert figures["ikm"]["ikm"] is None
    deliveries = figures["deliveries"]
    assert deliveries["today"]["by_status"]["delivered"] == 1
    assert deliveries["today"]["delivery_rate"] == 1.0
    assert figures["pipeline"]["available"] is True


async def test_figures_are_sent_again_when_they_change_and_only_then(
    live: str, services: dict[str, Any], staff: Callable[..., Any]
) -> None:
    _, viewer = await staff("ops_viewer")
    sent: list[dict[str, Any]] = []
    async with (
        asyncio.timeout(20),
        httpx.AsyncClient(base_url=live) as client,
        client.stream("GET", LIVE, headers=viewer) as response,
    ):
        async for _, figures in events(response):
            sent.append(figures)
            if len(sent) == 2:
                break
            await asyncio.sleep(1.0)  # five reads with nothing new
            await deliver(services["notifications_db"], dt.datetime.now(dt.UTC))

    first, second = (figures["deliveries"]["today"]["by_status"]["delivered"] for figures in sent)
    assert (first, second) == (1, 2), "the next event is the change, not the same figures again"


async def test_the_stream_stops_reading_once_the_client_has_gone(
    live: str, services: dict[str, Any], staff: Callable[..., Any]
) -> None:
    _, officer = await staff("officer", "DUKCAPIL")
    await first_event(live, officer)
    await asyncio.sleep(0.5)  # the connection's end reaches the server
    calls = services["calls"]["applications"]

    await asyncio.sleep(1.0)  # five intervals

    assert services["calls"]["applications"] == calls


async def test_the_stream_ends_with_the_callers_session(
    live: str, staff: Callable[..., Any]
) -> None:
    _, officer = await staff("officer", "DUKCAPIL")
    seen: list[tuple[str | None, Any]] = []
    async with (
        asyncio.timeout(20),
        httpx.AsyncClient(base_url=live) as client,
        client.stream("GET", LIVE, headers=officer) as response,
    ):
        async for name, data in events(response):
            seen.append((name, data))
            if len(seen) == 1:
                signed_out = await client.post("/api/v1/auth/logout", headers=officer)
                assert signed_out.status_code == 204

    assert seen[-1] == ("end", {"reason": "session-ended"})
    assert {name for name, _ in seen[:-1]} == {"figures"}
