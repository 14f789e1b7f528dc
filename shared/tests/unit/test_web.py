"""What every service's app does to each answer, and where its metrics are served: without
servers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Response

from mpp_shared import web
from mpp_shared.settings import ServiceSettings


@asynccontextmanager
async def nothing(app: FastAPI) -> AsyncIterator[None]:
    yield


def service_app(**settings: Any) -> FastAPI:
    app = web.create_app(
        ServiceSettings(service_name="unit", **settings),
        title="Unit",
        description="A service for the test.",
        lifespan=nothing,
    )

    @app.get("/api/v1/things/mine")
    async def mine() -> dict[str, str]:
        return {"name": "Andi Baso"}

    @app.get("/api/v1/things/public")
    async def public(response: Response) -> dict[str, str]:
        response.headers["Cache-Control"] = "public, max-age=60"
        return {"name": "Akta kelahiran"}

    return app


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unit")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_an_answer_to_a_caller_with_credentials_is_not_stored_unless_the_route_says() -> None:
    async with client_of(service_app()) as client:
        by_token = await client.get("/api/v1/things/mine", headers={"Authorization": "Bearer t"})
        by_key = await client.get("/api/v1/things/mine", headers={"X-API-Key": "k"})
        anonymous = await client.get("/api/v1/things/mine")
        public = await client.get("/api/v1/things/public", headers={"Authorization": "Bearer t"})
    assert by_token.headers["cache-control"] == "no-store"
    assert by_key.headers["cache-control"] == "no-store"
    assert "cache-control" not in anonymous.headers
    assert public.headers["cache-control"] == "public, max-age=60"


async def test_a_problem_answered_to_a_caller_with_credentials_is_not_stored_either() -> None:
    async with client_of(service_app()) as client:
        missing = await client.get("/api/v1/no-such-thing", headers={"Authorization": "Bearer t"})
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"


async def test_metrics_on_a_port_of_their_own_are_not_on_the_api_port() -> None:
    settings = ServiceSettings(service_name="unit", metrics_port=free_port())
    async with client_of(service_app(metrics_port=settings.metrics_port)) as client:
        on_api_port = await client.get("/metrics")
    assert on_api_port.status_code == 404
    assert on_api_port.headers["content-type"] == "application/problem+json"

    server = web.serve_metrics(settings)
    assert server is not None
    try:
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{settings.metrics_port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    assert scraped.status_code == 200
    assert "python_gc_objects_collected_total" in scraped.text


async def test_without_a_metrics_port_a_service_answers_metrics_on_its_api_port() -> None:
    async with client_of(service_app()) as client:
        scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert web.serve_metrics(ServiceSettings(service_name="unit")) is None


async def test_what_the_start_made_is_out_of_the_garbage_collectors_sight_once_started() -> None:
    import gc

    app = service_app()
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000  # the modules, routes and models of the app
            assert gc.get_threshold()[0] == 10_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
