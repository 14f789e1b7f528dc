"""The FastAPI application every service starts from: errors, health, readiness, metrics, traces."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Annotated

import fastapi_offline
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.propagators import (
    TraceResponsePropagator,
    set_global_response_propagator,
)
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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
) -> FastAPI:
    """An app with problem+json errors, `/health`, `/ready`, `/metrics`, OpenTelemetry and its
    API documented at `/api/v1/openapi.json` and `/docs` (unless it serves its own)."""
    telemetry.setup(settings.service_name, log_level=settings.log_level)
    set_global_response_propagator(TraceResponsePropagator())  # type: ignore[no-untyped-call]
    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
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

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # One server span per request; the instrumentation's default adds a span for every ASGI
    # message sent and received besides, a third of its cost per call.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="health,ready,metrics", exclude_spans=["receive", "send"]
    )
    return app


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
    """Run the app with uvicorn; logging stays as telemetry set it up."""
    import uvicorn

    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        # Longer than the gateway keeps an idle connection (10 s), so the gateway, not the
        # service, closes it: otherwise a call can go out on a connection being closed.
        timeout_keep_alive=30,
        timeout_graceful_shutdown=10,
    )
