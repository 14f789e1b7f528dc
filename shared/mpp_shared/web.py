"""The FastAPI application every service starts from: errors, health, readiness, metrics, traces."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Annotated
from wsgiref.simple_server import WSGIServer

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from opentelemetry.instrumentation.propagators import TraceResponsePropagator
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mpp_shared import problems, telemetry
from mpp_shared.runtime import Runtime
from mpp_shared.settings import ServiceSettings

OPENAPI_URL = "/api/v1/openapi.json"
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    lifespan: Lifespan,
    health_route: bool = True,
    openapi_route: bool = True,
    public: bool = False,
) -> FastAPI:
    """An app with problem+json errors, `/health`, `/ready`, `/metrics`, OpenTelemetry and its
    API documented at `/api/v1/openapi.json` and `/docs` (unless it serves its own).

    A `public` app (the gateway) never serves `/metrics` on its API port; nor does any app whose
    settings give the metrics a port of their own (`serve_metrics`)."""
    telemetry.setup(settings.service_name, log_level=settings.log_level)
    app = FastAPI(
        telemetry=TELEMETRY,
        title=title,
        description=description,
        version="1.0.0",
        lifespan=_frozen_after(lifespan),
        openapi_url=OPENAPI_URL if openapi_route else None,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.state.settings = settings
    problems.install(app)

    if health_route:

        @app.get("/health", tags=["ops"], include_in_schema=False)
        async def health() -> dict[str, str]:
            """The process is alive."""
            return {"status": "ok", "service": settings.service_name}

    @app.get("/ready", tags=["ops"], include_in_schema=False)
    async def ready(request: Request) -> Response:
        """The service's store and bus are reachable."""
        runtime: Runtime | None = getattr(request.app.state, "runtime", None)
        if runtime is None:
            raise problems.Problem(503, "unavailable")
        checks = await runtime.check()
        ok = all(state == "ok" for state in checks.values())
        body = {
            "status": "ok" if ok else "unavailable",
            "service": settings.service_name,
            "checks": checks,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    if public or settings.metrics_port is not None:

        @app.get("/metrics", tags=["ops"], include_in_schema=False)
        async def no_metrics() -> Response:
            """Not here: a route of its own, or the gateway's web apps would answer with a page."""
            raise problems.Problem(404, "not-found")

    else:

        @app.get("/metrics", tags=["ops"], include_in_schema=False)
        async def metrics() -> Response:
            """Prometheus metrics."""
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(NoStoreForCredentials)
    app.add_middleware(TraceResponse)
    return app


def serve_metrics(settings: ServiceSettings) -> WSGIServer | None:
    """Serve the Prometheus metrics on `metrics_port` (a thread of its own), when it is set."""
    if settings.metrics_port is None:
        return None
    server, _ = start_http_server(settings.metrics_port, addr=settings.http_host)
    return server


def _frozen_after(lifespan: Lifespan) -> Lifespan:
    """The lifespan, then everything the start made moved out of the garbage collector's sight.

    A service's start leaves some 150,000 objects that live as long as it does (modules, routes,
    models, compiled queries); every full collection walked all of them, about 90 ms with the
    event loop stopped (measured on the applications service), which is what the inbox's p99
    under load was made of (126 ms through the gateway; 30 ms frozen). Frozen, they are never
    walked again, and a full collection walks only what the service made since. The youngest
    generation is collected every 10,000 new objects rather than every 700: a request makes
    hundreds, and most are gone by reference counting before a collection would see them."""

    @asynccontextmanager
    async def frozen(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app):
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
            yield

    return frozen


UNTRACED = frozenset({"/health", "/ready", "/metrics"})

# FastAPI's own OpenTelemetry: one server span per request, named by its route, and the
# `http.server.request.duration` histogram. Spans around each dependency, the endpoint and the
# serialisation are left out: they would double a call's telemetry cost for little news.
# (The contrib FastAPIInstrumentor matched every route a second time to name the span: twice
# the CPU per call of this.)
TELEMETRY: TelemetryConfig = {
    "operation_spans": False,
    "logs": False,  # our JSON logs already carry the errors, with their trace ids
    "exclude": lambda scope: scope.get("path") in UNTRACED,
}


class TraceResponse:
    """The W3C `traceresponse` header on every answer: the trace id a caller can quote (and the
    gateway's own answers carry the trace its services joined)."""

    propagator = TraceResponsePropagator()  # type: ignore[no-untyped-call]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_traced(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.propagator.inject(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_traced)


CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key"})


class NoStoreForCredentials:
    """`Cache-Control: no-store` on every answer to a caller who sent credentials, unless the
    route chose its own caching: what is served to someone signed in is theirs (personal data,
    tokens) and must stay out of browser and proxy caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(
            name in CREDENTIAL_HEADERS for name, _ in scope["headers"]
        ):
            await self.app(scope, receive, send)
            return

        async def send_not_stored(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_not_stored)


def install_docs(app: FastAPI) -> None:
    """Swagger UI at `/docs` for the app's OpenAPI document, every asset served from here."""
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE.format(title=app.title), headers=DOCS_HEADERS)

    @app.get("/docs/start.js", include_in_schema=False)
    async def docs_start() -> Response:
        return Response(DOCS_START, media_type="text/javascript", headers=DOCS_HEADERS)


SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "Cache-Control": "public, max-age=300",
}
DOCS_PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png">
</head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""
DOCS_START = f"""window.ui = SwaggerUIBundle({{
  url: "{OPENAPI_URL}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
}});
"""


async def get_runtime(request: Request) -> Runtime:
    """The running service's connections."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run the app with uvicorn, and its metrics on their own port when one is set; logging
    stays as telemetry set it up."""
    import uvicorn

    serve_metrics(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        loop="uvloop",
        http="httptools",
        # No service believes a caller's X-Forwarded-For by default (uvicorn would, from any
        # local address): the gateway works out its clients behind its own trusted proxies.
        proxy_headers=False,
        # Longer than the gateway keeps an idle connection (10 s), so the gateway, not the
        # service, closes it: otherwise a call can go out on a connection being closed.
        timeout_keep_alive=30,
        timeout_graceful_shutdown=10,
    )
