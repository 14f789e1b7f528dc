"""The proxy's answers when a service fails mid-call, and answers passed on unchanged."""

from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway import routing
from mpp_shared import problems


def gateway_with(upstream: httpx.MockTransport) -> FastAPI:
    app = FastAPI()
    problems.install(app)
    client = httpx.AsyncClient(transport=upstream)

    @app.api_route("/api/v1/{path:path}", methods=["GET", "POST"])
    async def proxy(request: Request, path: str) -> Response:
        return await routing.forward(request, client, "http://applications", "applications")

    return app


async def call(app: FastAPI, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.request(method, path, headers={"Accept-Language": "en"})


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadError("connection reset by peer"),
        httpx.WriteError("broken pipe"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
        httpx.ConnectError("connection refused"),
    ],
)
async def test_a_service_failing_mid_call_is_a_503_to_retry(failure: Exception) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    answer = await call(gateway_with(httpx.MockTransport(fail)), "POST", "/api/v1/applications")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "applications" in answer.json()["detail"]


@pytest.mark.parametrize("size", [2_000, routing.BUFFERED_BYTES * 2])
async def test_answers_small_and_large_pass_unchanged_with_their_encoding(size: int) -> None:
    original = os.urandom(size)  # random bytes: gzip cannot shrink them
    body = gzip.compress(original)

    async def chunks() -> AsyncIterator[bytes]:  # as a service's answer arrives: in pieces
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201,
            content=chunks(),
            headers={
                "content-encoding": "gzip",
                "content-length": str(len(body)),
                "etag": '"v1"',
                "content-type": "text/x",
            },
        )

    got = await call(gateway_with(httpx.MockTransport(answer)), "GET", "/api/v1/applications")
    assert got.status_code == 201
    assert got.headers["etag"] == '"v1"'
    assert got.headers["content-encoding"] == "gzip"
    assert got.content == original  # the raw gzip bytes went through, and decode as sent
    if size <= routing.BUFFERED_BYTES:  # read whole, sent in one piece
        assert got.headers["content-length"] == str(len(body))
    else:  # streamed as it came
        assert "content-length" not in got.headers
