"""The whole platform's health as the gateway sees it: every service and every server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from minio import Minio

from gateway.settings import Settings
from mpp_shared import blobs
from mpp_shared.runtime import Runtime


async def components(
    *, settings: Settings, runtime: Runtime, client: httpx.AsyncClient, s3: Minio
) -> dict[str, str]:
    """Each component's state: `ok` or why not, checked concurrently."""
    own = await runtime.check()

    async def service_ready(url: str) -> None:
        response = await client.get(f"{url}/ready", timeout=3.0)
        if response.status_code != 200:
            failing = {k: v for k, v in response.json().get("checks", {}).items() if v != "ok"}
            raise RuntimeError(f"not ready: {failing or response.status_code}")

    async def mailpit() -> None:
        response = await client.get(f"{settings.mailpit_url}/livez", timeout=3.0)
        response.raise_for_status()

    def ready_probe(url: str) -> Callable[[], Awaitable[None]]:
        return lambda: service_ready(url)

    probes = {name: ready_probe(url) for name, url in settings.upstreams().items()}
    probes["s3"] = lambda: blobs.check(s3)
    probes["mailpit"] = mailpit
    results = await asyncio.gather(*(_state(probe) for probe in probes.values()))
    states = {"gateway": "ok" if all(v == "ok" for v in own.values()) else "degraded"}
    states |= dict(zip(probes, results, strict=True))
    states["kafka"] = own["bus"]
    states["postgres"] = own["store"]
    return states


async def _state(probe: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(probe(), 4.0)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, RuntimeError) else type(exc).__name__
        return f"unavailable: {reason}"
    return "ok"
