"""Every answer of the gateway, its own failures included, carries a request id and the security
headers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from gateway.edge import SECURITY_HEADERS, Edge
from mpp_shared import problems


async def test_an_unexpected_failure_is_a_500_problem_with_the_request_id_and_headers() -> None:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(Edge)

    @app.get("/api/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.get("/api/v1/broken", headers={"X-Request-Id": "req-42"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-request-id"] == "req-42"
    for name in SECURITY_HEADERS:
        assert name.lower() in answer.headers
    assert "a bug" not in answer.text
