"""The gateway: the single entry point. It knows who is calling, limits, routes and audits; it
holds no business rules of the services behind it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import health, routing
from gateway.edge import Edge
from gateway.guard import Guard
from gateway.identity import audit, handling, staff
from gateway.identity.accounts import Identity
from gateway.identity.api import router as identity_router
from gateway.live import router as live_router
from gateway.openapi import MergedOpenApi
from gateway.otp import OtpSender
from gateway.settings import Settings
from gateway.webapps import WebApps
from mpp_shared import blobs, runtime, topics, web
from mpp_shared.problems import Problem

# Which agency handles which citizen's applications: who may read whom; and the services' audit
# lines of the personal data they served.
CONSUMED = [topics.APPLICATIONS, topics.DOCUMENTS]
HANDLERS = handling.HANDLERS | audit.HANDLERS


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway app; the lifespan opens its store, the upstream client and the OTP producer."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(
            settings.upstream_read_timeout, connect=settings.upstream_connect_timeout
        )
        limits = httpx.Limits(
            max_connections=200, max_keepalive_connections=50, keepalive_expiry=10
        )
        sender = OtpSender(settings)
        async with (
            runtime.run(
                settings,
                migrations="gateway.migrations",
                produces=[topics.IDENTITY_OTP],
                consumes=CONSUMED,
                handlers=HANDLERS,
            ) as running,
            httpx.AsyncClient(timeout=timeout, limits=limits) as client,
            contextlib.AsyncExitStack() as clients,
        ):
            # One connection pool per service: a slow one cannot hold the connections the
            # others need, and each call scans only its own service's idle connections.
            app.state.proxies = {
                name: await clients.enter_async_context(
                    routing.upstream_session(
                        connect_timeout=settings.upstream_connect_timeout,
                        read_timeout=settings.upstream_read_timeout,
                    )
                )
                for name in settings.upstreams()
            }
            identity = Identity.create(
                engine=running.engine, settings=settings, send_otp=sender.send
            )
            await staff.ensure_bootstrap_admin(identity)
            app.state.runtime = running
            app.state.upstream = client
            app.state.s3 = blobs.create_s3(settings)
            app.state.identity = identity
            app.state.guard = guard = Guard(identity)
            guard.ended_sessions = running.ended_sessions
            app.state.openapi = MergedOpenApi(settings.upstreams())
            guard.audit.start()
            try:
                yield
            finally:
                await guard.audit.close()
                await sender.close()

    app = web.create_app(
        settings,
        title="MPP Elektronik",
        description="The electronic public service mall: one door to every agency's services. "
        "Errors are RFC 9457 problem+json in Indonesian, or English with `Accept-Language: en`.",
        lifespan=lifespan,
        health_route=False,
        openapi_route=False,
        public=True,  # its metrics only on MPP_METRICS_PORT, where Prometheus scrapes
    )
    app.include_router(identity_router)
    app.include_router(live_router)

    app.add_middleware(Edge)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Accept-Language",
                "Idempotency-Key",
                "If-Match",
                "If-None-Match",
                "X-API-Key",
                "X-Request-Id",
            ],
            expose_headers=["ETag", "Location", "Retry-After", "X-Request-Id", "traceresponse"],
            max_age=600,
        )

    if settings.trusted_proxies:
        # Outermost: the client address every limit and audit line uses is the right-most
        # X-Forwarded-For hop that is not a trusted proxy; anyone else's header is ignored.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

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

    @app.get(web.OPENAPI_URL, include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        """The whole mall's API: the gateway's routes and every service's."""
        own = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        merged = await request.app.state.openapi.document(own, request.app.state.upstream)
        return JSONResponse(merged, headers={"Cache-Control": "public, max-age=30"})

    @app.api_route(
        "/api/v1/{path:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def proxy(request: Request, path: str) -> Response:
        """Forward a public API call to the service that owns it, once the caller is admitted."""
        segment = routing.segment_of(request.url.path)
        service_name = routing.ROUTES.get(segment)
        if service_name is None:
            raise Problem(404, "not-found")
        gate: Guard = request.app.state.guard
        caller, token = await gate.authenticate(request)
        gate.authorize(request, caller, segment)
        response = await routing.forward(
            request,
            request.app.state.proxies[service_name],
            settings.upstreams()[service_name],
            service_name,
            authorization=f"Bearer {token}" if token else None,
        )
        # The services audit the personal data they serve (mpp_shared.read_audit).
        return response

    apps = WebApps(settings.web_dir, settings.media_origins())

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def web_apps(request: Request, path: str) -> Response:
        """The citizen app, the officer workspace (/petugas) and the command center (/ops)."""
        return apps.response(request, path)

    return app
