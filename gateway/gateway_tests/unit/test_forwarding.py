"""The proxy's answers when a service fails mid-call, and answers passed on unchanged.

The services here are small servers on this machine's loopback: the proxy's own client and
connection handling are what is under test.
"""

from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway import routing
from mpp_shared import problems

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def gateway_to(base_url: str, *, read_timeout: float = 5.0) -> FastAPI:
    app = FastAPI()
    problems.install(app)
    sessions: list[aiohttp.ClientSession] = []

    @app.api_route("/api/v1/{path:path}", methods=["GET", "HEAD", "POST"])
    async def proxy(request: Request, path: str) -> Response:
        if not sessions:
            sessions.append(
                routing.upstream_session(connect_timeout=1.0, read_timeout=read_timeout)
            )
        return await routing.forward(request, sessions[0], base_url, "applications")

    app.state.sessions = sessions
    return app


async def call(
    app: FastAPI, method: str, path: str, *, content: bytes | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.request(
                method, path, content=content, headers={"Accept-Language": "en"}
            )
    finally:
        for session in app.state.sessions:
            await session.close()


async def raw_server(handle: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def half_an_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial":')
    await writer.drain()
    writer.close()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    await asyncio.sleep(10)


@pytest.mark.parametrize("handle", [hang_up, half_an_answer])
async def test_a_service_failing_mid_call_is_a_503_to_retry(handle: Handler) -> None:
    server, url = await raw_server(handle)
    async with server:
        answer = await call(gateway_to(url), "POST", "/api/v1/applications", content=b"{}")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "applications" in answer.json()["detail"]


async def test_a_service_not_listening_is_a_503_to_retry() -> None:
    server, url = await raw_server(hang_up)
    server.close()
    await server.wait_closed()
    answer = await call(gateway_to(url), "GET", "/api/v1/applications")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"


async def test_a_service_too_slow_is_a_504() -> None:
    server, url = await raw_server(never_answer)
    async with server:
        answer = await call(gateway_to(url, read_timeout=0.3), "GET", "/api/v1/applications")
    assert answer.status_code == 504
    assert answer.json()["title"] == "Service did not answer in time"


async def service(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.AppRunner:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def url_of(runner: web.AppRunner) -> str:
    port = runner.addresses[0][1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("size", [2_000, routing.BUFFERED_BYTES * 2])
async def test_answers_small_and_large_pass_unchanged_with_their_encoding(size: int) -> None:
    original = os.urandom(size)  # random bytes: gzip cannot shrink them
    body = gzip.compress(original)

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=201,
            headers={"content-encoding": "gzip", "etag": '"v1"', "content-type": "text/x"},
        )
        response.content_length = len(body)
        await response.prepare(request)
        for start in range(0, len(body), 65536):  # as a service's answer arrives: in pieces
            await response.write(body[start : start + 65536])
        return response

    runner = await service(answer)
    try:
        got = await call(gateway_to(url_of(runner)), "GET", "/api/v1/applications")
    finally:
        await runner.cleanup()
    assert got.status_code == 201
    assert got.headers["etag"] == '"v1"'
    assert got.headers["content-encoding"] == "gzip"
    assert got.content == original  # the raw gzip bytes went through, and decode as sent
    if size <= routing.BUFFERED_BYTES:  # read whole, sent in one piece
        assert got.headers["content-length"] == str(len(body))
    else:  # streamed as it came
        assert "content-length" not in got.headers


async def test_the_path_query_and_body_reach_the_service_as_sent() -> None:
    seen: dict[str, object] = {}

    async def echo(request: web.Request) -> web.StreamResponse:
        seen.update(
            path=request.raw_path,
            body=await request.read(),
            authorization=request.headers.get("authorization"),
            cookie=request.headers.get("cookie"),
        )
        return web.Response(status=200, body=b"{}", content_type="application/json")

    runner = await service(echo)
    big = os.urandom(routing.BUFFERED_REQUEST_BYTES + 10)
    try:
        app = gateway_to(url_of(runner))
        path = "/api/v1/catalog/services/%01%E2%82%AC?q=akta%20lahir&x=%26"
        small = await call(app, "POST", path, content=b'{"a": 1}')
        assert small.status_code == 200
        assert seen == {"path": path, "body": b'{"a": 1}', "authorization": None, "cookie": None}
        large = await call(gateway_to(url_of(runner)), "POST", "/api/v1/documents", content=big)
        assert large.status_code == 200
        assert seen["body"] == big  # streamed upstream, whole
    finally:
        await runner.cleanup()


async def test_a_head_answer_keeps_the_length_a_get_would_have() -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=200, body=b"x" * 1234)

    runner = await service(answer)
    try:
        got = await call(gateway_to(url_of(runner)), "HEAD", "/api/v1/applications")
    finally:
        await runner.cleanup()
    assert got.status_code == 200
    assert got.headers["content-length"] == "1234"
    assert got.content == b""


async def test_hostile_paths_and_header_bytes_reach_the_service_never_a_500() -> None:
    """Control characters stay percent-encoded in the path; a header's bytes beyond ASCII
    (obsolete, RFC 9110 5.5) go on as the text they decode to (aiohttp writes UTF-8)."""
    seen: list[tuple[str, bytes | None]] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        raw = dict(request.raw_headers)
        seen.append((request.raw_path, raw.get(b"X-Note") or raw.get(b"x-note")))
        return web.Response(status=404, body=b"{}", content_type="application/problem+json")

    runner = await service(echo)
    try:
        app = gateway_to(url_of(runner))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            for path, note in [
                ("/api/v1/catalog/services/%01", b"plain"),
                ("/api/v1/catalog/services/%00%ff?q=%ff%fe", b"caf\xe9 \xff\xfe"),
            ]:
                answer = await client.get(path, headers={"X-Note": note})
                assert answer.status_code == 404, answer.text
                assert seen[-1] == (path, note.decode("latin-1").encode())
        for session in app.state.sessions:
            await session.close()
    finally:
        await runner.cleanup()


async def test_a_body_over_the_limit_is_a_413_before_it_reaches_the_service() -> None:
    reached: list[int] = []

    async def count(request: web.Request) -> web.StreamResponse:
        reached.append(len(await request.read()))
        return web.Response(status=200, body=b"{}", content_type="application/json")

    runner = await service(count)
    too_big = b"[" + b"1," * (routing.BODY_LIMIT // 2) + b"1]"

    async def chunks() -> AsyncIterator[bytes]:  # no length given: counted as it comes
        for start in range(0, len(too_big), 65536):
            yield too_big[start : start + 65536]

    try:
        for content in (too_big, chunks()):
            app = gateway_to(url_of(runner))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                answer = await client.post("/api/v1/applications", content=content)
            for session in app.state.sessions:
                await session.close()
            assert answer.status_code == 413, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
        assert reached == []
        fits = await call(gateway_to(url_of(runner)), "POST", "/api/v1/x", content=b"[1]")
        assert (fits.status_code, reached) == (200, [3])
    finally:
        await runner.cleanup()
