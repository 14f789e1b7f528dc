"""Benchmark: catalog search latency over the seeded catalog (100+ services), same-run baselines.

1. The search index alone against a naive substring scan of names and keywords (what a simple
   implementation would do), over the same queries.
2. The whole `GET /api/v1/catalog/services?q=` request in-process on the real store, against the
   plain list request (`?limit=20`, no words) as baseline.
Prints p50 and p99 in milliseconds and the ratio to the baseline. Run with `make bench`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from catalog import seed
from catalog.app import create_app
from catalog.search import SearchIndex, normalize
from catalog.settings import Settings
from mpp_shared import db, telemetry
from mpp_shared.local import postgres_port, scratch_databases

QUERIES = [
    "bikin akte lahir anak",
    "perpanjang sim",
    "ktp hilang",
    "skck",
    "paspor baru",
    "kartu keluarga",
    "izin praktik dokter",
    "pajak motor",
    "pasang air pdam",
    "surat pindah",
    "birth certificate",
    "driving licence renewal",
    "akta kelahrian",
    "nikah",
    "bpjs kesehatan",
    "nib",
    "sertifikat tanah",
    "kartu kuning",
    "halal",
    "cerai",
]
ROUNDS = 30


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def measure(action: Callable[[str], Any]) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        for query in QUERIES:
            started = time.perf_counter()
            action(query)
            samples.append(time.perf_counter() - started)
    return samples


async def measure_async(action: Callable[[str], Awaitable[Any]], rounds: int = 5) -> list[float]:
    samples = []
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            await action(query)
            samples.append(time.perf_counter() - started)
    return samples


def report(
    title: str, baseline: tuple[str, list[float]], measured: tuple[str, list[float]]
) -> None:
    print(f"\n{title}")
    base_p50, _ = percentiles(baseline[1])
    for name, samples in (baseline, measured):
        p50, p99 = percentiles(samples)
        ratio = p50 / base_p50
        print(f"  {name:<44} p50 {p50:8.3f} ms   p99 {p99:8.3f} ms   {ratio:6.1f}x baseline p50")


def in_memory() -> None:
    views = seed.published_views()
    started = time.perf_counter()
    index = SearchIndex(views, {})
    built = time.perf_counter() - started
    texts = {v.slug: normalize(" ".join([v.name.id, v.name.en, *v.keywords])) for v in views}

    def naive(query: str) -> list[str]:
        words = normalize(query).split()
        return [slug for slug, text in texts.items() if any(w in text for w in words)]

    report(
        f"Search index over {len(views)} services (built in {built * 1000:.0f} ms),"
        f" {len(QUERIES)} queries x {ROUNDS}",
        ("naive substring scan (baseline)", measure(naive)),
        ("search index: stem, everyday words, typos, rank", measure(lambda q: index.search(q))),
    )


async def over_http() -> None:
    namespace = f"bench{secrets.token_hex(3)}"
    settings = Settings(namespace=namespace, postgres_port=postgres_port())
    async with scratch_databases(namespace, ["catalog"]):
        await db.migrate(settings, "catalog.migrations")
        engine = db.create_engine(settings)
        await seed.load(engine)
        await engine.dispose()
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as http:
                await http.get("/api/v1/catalog/services", params={"q": "warm up"})

                async def listing(_: str) -> None:
                    (
                        await http.get("/api/v1/catalog/services", params={"limit": 20})
                    ).raise_for_status()

                async def searching(query: str) -> None:
                    (
                        await http.get("/api/v1/catalog/services", params={"q": query})
                    ).raise_for_status()

                report(
                    "GET /api/v1/catalog/services in-process on the real store",
                    ("list, 20 items, no words (baseline)", await measure_async(listing)),
                    ("search ?q=..., 20 best with reasons", await measure_async(searching)),
                )


def main() -> None:
    telemetry.setup("bench", log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    in_memory()
    asyncio.run(over_http())


if __name__ == "__main__":
    main()
