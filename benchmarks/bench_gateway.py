"""Benchmark: what the gateway costs, same-run baselines.

1. A public read (GET a service's page) straight from the catalog against the same read through
   the gateway, anonymous and with a citizen's access token (signature check and session look-up).
   Both servers run with uvicorn on local ports in this process, so both paths pay real HTTP.
2. Signing in (argon2id password check, a new session) against refreshing the tokens (no password
   hash): what the deliberate cost of password hashing is.
Prints p50 and p99 in milliseconds and the ratio to the baseline. Run with `make bench`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from catalog import seed
from catalog.app import create_app as create_catalog
from catalog.settings import Settings as CatalogSettings
from gateway.app import create_app as create_gateway
from gateway.settings import Settings as GatewaySettings
from mpp_shared import db, telemetry
from mpp_shared.local import postgres_port, scratch_databases

ROUNDS = 300
SIGN_INS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(600):  # uvicorn offers no event for "started"
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


async def measure(action: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    return samples


def report(title: str, rows: list[tuple[str, list[float]]]) -> None:
    print(f"\n{title}")
    base_p50, _ = percentiles(rows[0][1])
    for name, samples in rows:
        p50, p99 = percentiles(samples)
        print(
            f"  {name:<46} p50 {p50:8.3f} ms   p99 {p99:8.3f} ms   {p50 / base_p50:6.2f}x baseline"
        )


async def main() -> None:
    namespace = f"bench{secrets.token_hex(3)}"
    catalog_port, gateway_port = free_port(), free_port()
    common: dict[str, Any] = {
        "namespace": namespace,
        "kafka_partitions": 1,
        "postgres_port": postgres_port(),
    }
    catalog_settings = CatalogSettings(**common)
    gateway_settings = GatewaySettings(
        **common,
        catalog_url=f"http://127.0.0.1:{catalog_port}",
        rate_limit_per_client="1000000/minute",
        rate_limit_per_account="1000000/minute",
        rate_limit_auth_per_client="1000000/minute",
        otp_resend_seconds=0,
        otp_per_hour=1000,
    )
    async with scratch_databases(namespace, ["catalog", "gateway"]):
        await measure_gateway(catalog_settings, gateway_settings, catalog_port, gateway_port)


async def measure_gateway(
    catalog_settings: CatalogSettings,
    gateway_settings: GatewaySettings,
    catalog_port: int,
    gateway_port: int,
) -> None:
    """The service page and sign-ins, straight to the catalog and through the gateway."""
    await db.migrate(catalog_settings, "catalog.migrations")
    engine = db.create_engine(catalog_settings)
    await seed.load(engine)
    await engine.dispose()
    async with (
        serving(create_catalog(catalog_settings), catalog_port) as catalog,
        serving(create_gateway(gateway_settings), gateway_port) as gateway,
        httpx.AsyncClient(timeout=30) as http,
    ):
        admin = await http.post(
            f"{gateway}/api/v1/auth/token",
            data={
                "grant_type": "password",
                "username": "admin",
                "password": gateway_settings.bootstrap_admin_password.get_secret_value(),
            },
        )
        token = admin.raise_for_status().json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        path = "/api/v1/catalog/services/ktp-el-baru"

        async def direct() -> None:
            (await http.get(catalog + path)).raise_for_status()

        async def through() -> None:
            (await http.get(gateway + path)).raise_for_status()

        async def through_signed_in() -> None:
            (await http.get(gateway + path, headers=bearer)).raise_for_status()

        for action in (direct, through, through_signed_in):
            await measure(action, 20)  # warm up connections and caches
        report(
            f"GET {path} (service page), {ROUNDS} requests each",
            [
                ("catalog directly (baseline)", await measure(direct, ROUNDS)),
                ("through the gateway, anonymous", await measure(through, ROUNDS)),
                (
                    "through the gateway, with an access token",
                    await measure(through_signed_in, ROUNDS),
                ),
            ],
        )

        refresh_token = token["refresh_token"]

        async def refresh() -> None:
            nonlocal refresh_token
            response = await http.post(
                f"{gateway}/api/v1/auth/token",
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            )
            refresh_token = response.raise_for_status().json()["refresh_token"]

        async def sign_in() -> None:
            response = await http.post(
                f"{gateway}/api/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "admin",
                    "password": gateway_settings.bootstrap_admin_password.get_secret_value(),
                },
            )
            response.raise_for_status()

        report(
            f"POST /api/v1/auth/token, {SIGN_INS} each",
            [
                ("refresh_token grant (baseline)", await measure(refresh, SIGN_INS)),
                ("password grant (argon2id check)", await measure(sign_in, SIGN_INS)),
            ],
        )


if __name__ == "__main__":
    telemetry.setup("bench", log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main())
