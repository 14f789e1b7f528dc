"""The gateway: the single entry point. It routes and reports health; it holds no business rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from gateway import health, routing
from gateway.settings import Settings
from mpp_shared import blobs, runtime, web
from mpp_shared.problems import Problem


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway app; the lifespan opens the upstream HTTP client and its own store."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(
            settings.upstream_read_timeout, connect=settings.upstream_connect_timeout
        )
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with (
            runtime.run(settings) as running,
            httpx.AsyncClient(timeout=timeout, limits=limits) as client,
        ):
            app.state.runtime = running
            app.state.upstream = client
            app.state.s3 = blobs.create_s3(settings)
            yield

    app = web.create_app(
        settings,
        title="MPP Elektronik",
        description="The electronic public service mall: one door to every agency's services.",
        lifespan=lifespan,
        health_route=False,
    )

    @app.get("/health", tags=["ops"], include_in_schema=False)
    async def platform_health(request: Request) -> JSONResponse:
        """Every service's and server's state; 503 unless all are healthy."""
        states = await health.components(
            settings=settings,
            runtime=request.app.state.runtime,
            client=request.app.state.upstream,
            s3=request.app.state.s3,
        )
        ok = all(state == "ok" for state in states.values())
        body = {"status": "ok" if ok else "degraded", "components": states}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.api_route(
        "/api/v1/{path:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def proxy(request: Request, path: str) -> Response:
        """Forward a public API call to the service that owns it."""
        service = routing.service_for(request.url.path)
        if service is None:
            raise Problem(404, "not-found")
        base_url = settings.upstreams()[service]
        return await routing.forward(request, request.app.state.upstream, base_url, service)

    return app
