"""Which service answers which public path, and the streaming proxy to it."""

from __future__ import annotations

import httpx
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from mpp_shared import telemetry
from mpp_shared.problems import Problem

# First segment after /api/v1 -> the service that owns it (ARCHITECTURE.md, "Public API").
ROUTES = {
    "catalog": "catalog",
    "applications": "applications",
    "track": "applications",
    "bookings": "applications",
    "complaints": "applications",
    "surveys": "applications",
    "ops": "applications",
    "documents": "documents",
    "verify": "documents",
    "notifications": "notifications",
    "partners": "notifications",
}

# Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded; nor is the caller's trace
# context, since the gateway's own span becomes the parent upstream.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "traceparent",
    "tracestate",
}
# Each service's connection pool: httpcore checks every idle connection on every call, so a
# large idle pool costs each call; beyond the kept ones, a burst opens (and then closes) more.
# Idle connections are dropped after 10 s, before the services' servers drop them (30 s, see
# mpp_shared.web.serve): a call on a connection the server is closing fails for nothing.
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=16, keepalive_expiry=10)
# Answers up to this size are read whole and sent in one piece; larger ones are streamed.
BUFFERED_BYTES = 256 * 1024
# Replaced by what the gateway verified.
CREDENTIALS = {"authorization", "x-api-key", "x-request-id", "cookie"}
# Set again by the gateway's own server on the way out.
OWN_RESPONSE_HEADERS = {"date", "server", "traceresponse", "access-control-expose-headers"}


def segment_of(path: str) -> str:
    """The first segment after /api/v1/."""
    return path.removeprefix("/api/v1/").split("/", 1)[0]


def service_for(path: str) -> str | None:
    """The service owning `/api/v1/<segment>/...`, if any."""
    return ROUTES.get(segment_of(path))


async def forward(
    request: Request,
    client: httpx.AsyncClient,
    base_url: str,
    service: str,
    *,
    authorization: str | None = None,
) -> Response:
    """Send the request to the service and its answer back (large answers streamed); a service
    away is a quick 503.

    The caller's credentials go upstream only as the verified bearer token (`authorization`):
    a partner's API key never leaves the gateway.
    """
    headers = [
        (k, v)
        for k, v in request.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() not in CREDENTIALS
    ]
    if authorization:
        headers.append(("authorization", authorization))
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        headers.append(("x-request-id", request_id))
    client_host = request.client.host if request.client else ""
    forwarded_for = ", ".join(filter(None, [request.headers.get("x-forwarded-for"), client_host]))
    headers += [("x-forwarded-for", forwarded_for), ("x-forwarded-proto", request.url.scheme)]
    headers += list(telemetry.current_trace_headers().items())
    upstream = client.build_request(
        request.method,
        base_url + request.url.path,
        params=request.url.query,
        headers=headers,
        content=request.stream() if request.method not in ("GET", "HEAD") else None,
    )
    try:
        response = await client.send(upstream, stream=True)
    except (httpx.NetworkError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
        # Connecting, sending or reading failed (the service went away mid-call): a 503 to
        # retry, never a 500; a submission retried with its Idempotency-Key is not doubled.
        raise _unavailable(service) from exc
    except httpx.TimeoutException as exc:
        raise Problem(
            504,
            "unavailable",
            title={
                "id": "Layanan tidak menjawab tepat waktu",
                "en": "Service did not answer in time",
            },
            detail={
                "id": f"Layanan {service} terlalu lama menjawab.",
                "en": f"The {service} service took too long.",
            },
        ) from exc
    answer_headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() not in OWN_RESPONSE_HEADERS
    }
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) <= BUFFERED_BYTES:
        # Most answers are a few kilobytes of JSON: streaming them costs a task and a disconnect
        # watcher per call. Raw bytes, so the content-encoding and length stay true.
        try:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
        except httpx.HTTPError as exc:
            raise _unavailable(service) from exc
        finally:
            await response.aclose()
        return Response(body, status_code=response.status_code, headers=answer_headers)
    return StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        headers=answer_headers,
        background=BackgroundTask(response.aclose),
    )


def _unavailable(service: str) -> Problem:
    return Problem(
        503,
        "unavailable",
        detail={
            "id": f"Layanan {service} sedang tidak tersedia. Silakan coba lagi sebentar lagi.",
            "en": f"The {service} service is unavailable. Please try again shortly.",
        },
        headers={"Retry-After": "5"},
    )
