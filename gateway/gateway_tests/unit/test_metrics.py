"""The gateway is the public door: its metrics are never served there, only on the port of their
own that Prometheus scrapes (`MPP_METRICS_PORT`, see `mpp_shared.web`)."""

from __future__ import annotations

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings


@pytest.mark.parametrize("metrics_port", [None, 9464])
async def test_the_public_port_answers_not_found_on_metrics(metrics_port: int | None) -> None:
    app = create_app(Settings(metrics_port=metrics_port))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "python_gc" not in answer.text
