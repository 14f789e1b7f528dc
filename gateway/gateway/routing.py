"""Which service answers which public path, and the streaming proxy to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from yarl import URL

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
# Answers up to this size are read whole and sent in one piece; larger ones are streamed.
BUFFERED_BYTES = 256 * 1024
# Request bodies up to this size are read whole and sent with their length; larger ones stream.
BUFFERED_REQUEST_BYTES = 256 * 1024
STREAM_CHUNK_BYTES = 64 * 1024
# The most a request's body may hold, by service: JSON everywhere but in uploads. The documents
# service bounds each upload by its requirement's own limit; this only stops what no requirement
# allows before it reaches a service.
BODY_LIMIT = 1024 * 1024
BODY_LIMITS = {"documents": 64 * 1024 * 1024}
# Replaced by what the gateway verified.
CREDENTIALS = {"authorization", "x-api-key", "x-request-id", "cookie"}
# Set again by the gateway's own server on the way out.
OWN_RESPONSE_HEADERS = {"date", "server", "traceresponse", "access-control-expose-headers"}
DROPPED_REQUEST_HEADERS = HOP_BY_HOP | CREDENTIALS
DROPPED_RESPONSE_HEADERS = {name.encode() for name in HOP_BY_HOP | OWN_RESPONSE_HEADERS}


def upstream_session(*, connect_timeout: float, read_timeout: float) -> aiohttp.ClientSession:
    """One service's connection pool for the proxy.

    aiohttp rather than httpx on this path: measured on this machine, a proxied call costs about
    0.2 ms of CPU in aiohttp's client against 1.2 ms in httpx's. Answers pass through as they
    came: no decompression, no cookies kept, no redirects followed, no headers added. Idle
    connections are dropped after 10 s, before the services' servers drop them (30 s, see
    mpp_shared.web.serve): a call on a connection the server is closing fails for nothing.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=10),
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        ),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
    )


def segment_of(path: str) -> str:
    """The first segment after /api/v1/."""
    return path.removeprefix("/api/v1/").split("/", 1)[0]


def service_for(path: str) -> str | None:
    """The service owning `/api/v1/<segment>/...`, if any."""
    return ROUTES.get(segment_of(path))


async def forward(
    request: Request,
    session: aiohttp.ClientSession,
    base_url: str,
    service: str,
    *,
    authorization: str | None = None,
) -> Response:
    """Send the request to the service and its answer back (large answers streamed); a service
    away is a quick 503, one too slow a 504.

    The path and query go on as the caller sent them, still percent-encoded. The caller's
    credentials go upstream only as the verified bearer token (`authorization`): a partner's
    API key never leaves the gateway.
    """
    scope = request.scope
    headers = [(k, v) for k, v in request.headers.items() if k not in DROPPED_REQUEST_HEADERS]
    if authorization:
        headers.append(("authorization", authorization))
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        headers.append(("x-request-id", request_id))
    client_host = request.client.host if request.client else ""
    forwarded_for = ", ".join(filter(None, [request.headers.get("x-forwarded-for"), client_host]))
    headers += [("x-forwarded-for", forwarded_for), ("x-forwarded-proto", scope["scheme"])]
    headers += list(telemetry.current_trace_headers().items())
    target = base_url + (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")
    body: bytes | AsyncIterator[bytes] | None = None
    if request.method not in ("GET", "HEAD"):
        body = await _body(request, BODY_LIMITS.get(service, BODY_LIMIT))
    try:
        response = await session.request(
            request.method,
            URL(target, encoded=True),
            headers=headers,
            data=body,
            allow_redirects=False,
        )
    except aiohttp.ConnectionTimeoutError as exc:
        raise _unavailable(service) from exc
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise _too_slow(service) from exc
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
        # Connecting, sending or reading failed (the service went away mid-call): a 503 to
        # retry, never a 500; a submission retried with its Idempotency-Key is not doubled.
        raise _unavailable(service) from exc
    answer_headers = [
        (name.lower(), value)
        for name, value in response.raw_headers
        if name.lower() not in DROPPED_RESPONSE_HEADERS
    ]
    if request.method == "HEAD":  # no body: the length is the one a GET would have
        answer_headers += [(b"content-length", str(response.content_length or 0).encode())]
        response.release()
        return _answer(b"", response.status, answer_headers, length=False)
    if response.content_length is not None and response.content_length <= BUFFERED_BYTES:
        # Most answers are a few kilobytes of JSON: streaming them costs a task and a disconnect
        # watcher per call. Raw bytes, so the content-encoding and length stay true.
        try:
            content = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unavailable(service) from exc
        finally:
            response.release()
        return _answer(content, response.status, answer_headers)
    return _streamed(response, answer_headers)


async def _body(request: Request, limit: int) -> bytes | AsyncIterator[bytes]:
    """The request's body, refused with a 413 beyond `limit`: read whole when small, else
    streamed (only uploads may be large, and the documents service reads no further than the
    requirement's own limit)."""
    length = request.headers.get("content-length", "")
    if length.isdigit():
        if int(length) > limit:
            raise _too_large(limit)
        return await request.body() if int(length) <= BUFFERED_REQUEST_BYTES else request.stream()
    if limit > BODY_LIMIT:
        return request.stream()
    read = bytearray()  # chunked, without a length: counted as it comes
    async for chunk in request.stream():
        read += chunk
        if len(read) > limit:
            raise _too_large(limit)
    return bytes(read)


def _too_large(limit: int) -> Problem:
    megabytes = limit // (1024 * 1024)
    return Problem(
        413,
        "payload-too-large",
        detail={
            "id": f"Isi permintaan lebih dari {megabytes} MB.",
            "en": f"The request's body is larger than {megabytes} MB.",
        },
    )


def _answer(
    content: bytes, status: int, headers: list[tuple[bytes, bytes]], *, length: bool = True
) -> Response:
    answer = Response(content, status_code=status)
    own_length = [(b"content-length", str(len(content)).encode())] if length else []
    answer.raw_headers = own_length + headers
    return answer


def _streamed(response: aiohttp.ClientResponse, headers: list[tuple[bytes, bytes]]) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.content.iter_chunked(STREAM_CHUNK_BYTES):
                yield chunk
        except (TimeoutError, aiohttp.ClientError, asyncio.CancelledError):
            response.close()  # the rest is lost: the caller sees a cut answer, as it should
            raise

    answer = StreamingResponse(
        chunks(), status_code=response.status, background=BackgroundTask(response.release)
    )
    answer.raw_headers = headers
    return answer


def _too_slow(service: str) -> Problem:
    return Problem(
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
