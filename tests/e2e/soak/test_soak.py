"""`make soak`: ten minutes of the mixed stream (submissions, officers' reviews, uploads, 20 calls a
second through the gateway) on the five deployables; no error, and no service's memory keeps
growing: each one's resident memory at the end is within 10% of what it was after the warm-up.

MPP_SOAK_SECONDS shortens or lengthens the run (600 by default; the first 120 s, or a fifth of a
shorter run, are the warm-up). The figures are printed and written to build/soak.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from ..conftest import PASSWORD, REPO, Platform, register_citizen, sign_in, staff_account
from ..faults.load import AGENCY, Stream

SECONDS = float(os.environ.get("MPP_SOAK_SECONDS", "600"))
WARM_UP = min(120.0, SECONDS / 5)
SAMPLE_EVERY = 10.0
GROWTH = 0.10
SERVICES = ("catalog", "applications", "documents", "notifications", "gateway")
# Access tokens last 10 minutes: the stream's people sign in again well before, as the apps
# refresh theirs.
SIGN_IN_AGAIN_EVERY = 240.0

pytestmark = pytest.mark.timeout(SECONDS + 600)


def rss_mib(pid: int) -> float:
    """A process's resident memory, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def test_memory_holds_and_nothing_fails_under_a_long_stream(platform: Platform) -> None:
    citizens = [
        register_citizen(
            platform, f"Warga Soak {n}", email=f"soak.{n}.{time.time_ns()}@example.org"
        )
        for n in range(6)
    ]
    officer_name = staff_account(platform, "officer", AGENCY)
    officer = sign_in(platform, officer_name, PASSWORD)
    stream = Stream(platform.gateway, citizens, officer)

    async def keep_signed_in() -> None:
        while not stream.stopping.is_set():
            await asyncio.sleep(SIGN_IN_AGAIN_EVERY)
            for citizen in citizens:  # the stream reads each one's headers at every call
                citizen["headers"] = await asyncio.to_thread(
                    sign_in, platform, citizen["phone"], PASSWORD
                )
            officer.update(await asyncio.to_thread(sign_in, platform, officer_name, PASSWORD))

    pids = {name: platform.processes[name].pid for name in SERVICES}
    samples: list[dict[str, Any]] = []

    async def sample() -> None:
        started = time.monotonic()
        while not stream.stopping.is_set():
            samples.append(
                {"at_s": round(time.monotonic() - started, 1)}
                | {name: round(rss_mib(pid), 1) for name, pid in pids.items()}
            )
            await asyncio.sleep(SAMPLE_EVERY)

    sampling = asyncio.create_task(sample())
    signing_in = asyncio.create_task(keep_signed_in())
    await stream.run(SECONDS)
    stream.stopping.set()
    await sampling
    signing_in.cancel()
    await stream.finish()
    seen = stream.summary()

    warm = next(s for s in samples if s["at_s"] >= WARM_UP)
    last = samples[-1]
    growth = {name: round(last[name] / warm[name] - 1, 3) for name in SERVICES}
    figures = {
        "seconds": SECONDS,
        "warm_up_s": WARM_UP,
        "calls": seen["calls"],
        "answers": dict(seen["by_status"]),
        "slowest_answer_s": seen["slowest_s"],
        "accepted": seen["accepted"],
        "asked": seen["asked"],
        "rss_after_warm_up_mib": {name: warm[name] for name in SERVICES},
        "rss_at_end_mib": {name: last[name] for name in SERVICES},
        "growth": growth,
        "samples": samples,
    }
    (REPO / "build").mkdir(exist_ok=True)
    (REPO / "build" / "soak.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps({k: v for k, v in figures.items() if k != "samples"}, indent=2))

    failed = {k: v for k, v in seen["by_status"].items() if not k.endswith(("200", "201"))}
    assert not failed, failed
    assert seen["accepted"] == seen["asked"]
    assert all(g < GROWTH for g in growth.values()), growth
