"""`make bench`: every scenario on the loaded year, into one report.

Needs the servers (`make servers`) and the year (`make seed-volume`). Starts the five services in
the namespace `volume` as their own processes (`stack.py`) and runs, in order:
5. the store's ceiling (inserts and point reads, SQLAlchemy beside asyncpg alone);
1. the reads people wait for at 50 requests/s (inbox, citizen list, detail, tracking, summary);
2. catalog search and the service page with wrk (gateway, catalog, nginx, bare FastAPI);
3. submissions end to end at rising rates (beside an aiokafka round trip);
4. uploads through the documents service beside direct S3 puts (its own namespace).
Writes `benchmarks/results/<date>.json`, `.md` and `.png`. `--quick` runs everything briefly,
to check the benchmarks themselves, not to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import subprocess
import sys
import time

import bench_catalog_http
import bench_documents
import bench_reads
import bench_store
import bench_submit
import stack
from results import Report

from mpp_shared import telemetry


def revision() -> str:
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
        cwd=stack.REPO,
    )
    return found.stdout.strip() or "unknown"


async def main(arguments: argparse.Namespace) -> None:
    missing = [tool for tool in ("wrk", "nginx") if not shutil.which(tool)]
    if missing:
        raise SystemExit(f"`make bench` needs {' and '.join(missing)} (apt-get install wrk nginx)")
    quick = arguments.quick
    seconds = 3 if quick else arguments.seconds
    rates = [10, 50] if quick else [10, 25, 50, 100, 200]
    report = Report(
        context={
            "command": " ".join(sys.argv),
            "revision": revision(),
            "namespace": arguments.namespace,
            "seconds per measurement": seconds,
        }
    )
    started = time.perf_counter()

    def step(title: str) -> None:
        print(f"\n==> {title} ({time.perf_counter() - started:.0f} s in)", flush=True)

    step("5. the store's ceiling")
    for scenario in await bench_store.scenarios(arguments.namespace, seconds=seconds, clients=8):
        report.add(scenario)
    step("starting the services in the namespace " + arguments.namespace)
    async with stack.started(arguments.namespace) as running:
        waited, settled = await running.settle()
        outcome = "settled" if settled else "were still busy (measured all the same)"
        report.context["before measuring, the services"] = f"{outcome} after {waited:.0f} s"
        print(f"    the services {outcome} after {waited:.0f} s", flush=True)
        step("1. reads at 50 requests/s")
        for scenario in await bench_reads.scenarios(running, rate=50, seconds=seconds):
            report.add(scenario)
        step("2. catalog search and service page with wrk")
        for scenario in await bench_catalog_http.scenarios(running, seconds=seconds):
            report.add(scenario)
        step("3. submissions end to end at " + ", ".join(map(str, rates)) + " per second")
        for scenario in await bench_submit.scenarios(running, rates=rates, seconds=seconds):
            report.add(scenario)
    step("4. uploads through the documents service and straight to S3")
    for scenario in await bench_documents.scenarios(rounds=2 if quick else 6, concurrency=4):
        report.add(scenario)
    report.context["minutes"] = round((time.perf_counter() - started) / 60, 1)
    report.context["load average at the end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print()
    report.write()
    met = sum(1 for s in report.scenarios if s.met)
    missed = [s.title for s in report.scenarios if s.met is False]
    print(f"{met} scenarios met their target, {len(missed)} missed:")
    for title in missed:
        print(f"  - {title}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--namespace", default="volume")
    parser.add_argument("--seconds", type=float, default=15, help="per measurement")
    parser.add_argument("--quick", action="store_true", help="a few seconds each, to try it")
    telemetry.setup("bench", log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(parser.parse_args()))
