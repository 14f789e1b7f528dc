"""Benchmark: catalog search and the service page over real HTTP with wrk: through the gateway
against straight to the catalog, beside a bare FastAPI endpoint and nginx proxying to the catalog.

The question is what our layers cost. The same two requests go four ways:
- the catalog directly (`python -m catalog`, as deployed): the ceiling the gateway is held to;
- through the gateway (`python -m gateway`, anonymous): what the gateway adds to a direct call;
- nginx proxying to the catalog (one worker, a keepalive pool to the catalog, HTTP/1.1): what a
  minimal, compiled proxy adds, for context;
- a bare FastAPI endpoint, its own uvicorn process with the services' uvicorn options, answering
  fixed JSON bytes about the size of the catalog's answer: the floor of a Python HTTP service on
  this machine (no database, no search, no serialization, no telemetry), for context.
Search (`GET /api/v1/catalog/services?q=`) rotates through the realistic queries of
`bench_catalog_search.py`; the page (`GET /api/v1/catalog/services/{slug}`) through real slugs
read from the catalog's list at start. wrk's Lua `request()` hook cycles through the paths.

Two wrk runs per way, one thread and 8 connections each (`wrk -t1 -c8`):
1. Saturation: as many requests/s as the 8 connections get. With a fixed number of connections
   the latency is about 8 / rate (Little's law), so the p50 here is mostly waiting for a CPU:
   the ratios say what each layer costs in CPU when the machine is full.
2. Paced at 200 requests/s: what one request takes at a realistic load. wrk 4.1 has no `-R`
   (wrk2 has), so the Lua `delay()` hook paces: the 8 connections share one schedule of slots
   1/200 s apart, and a connection that has its answer waits for the next free slot. (Waiting a
   fixed c/rate seconds per connection would give less than the rate, since each connection's
   cycle is its wait plus the request's latency.) The achieved rate is reported.

Delay-pacing understates queueing (coordinated omission): wrk's clock for a request starts when
it is written, and a connection sends its next request only after the previous answer. When the
server stalls, the requests the schedule would have sent meanwhile are not sent, so their wait is
never measured: a 100 ms stall counts as one slow request rather than the twenty that users
arriving independently at 200/s would have queued behind it. The paced p95/p99 are therefore a
lower bound of what such users see; an open-loop generator (wrk2 `-R`, which corrects for this)
would report higher tails whenever the server hiccups, and the same tails when it does not.

Targets: the gateway adds at most 30% to a direct call's p50 (judged at saturation and for the
page at 200 requests/s); catalog search through the gateway has a p99 under 25 ms at 200
requests/s. Each process's CPU time per request (from /proc; wrk's from its rusage) is noted
beside the figures, with how many cores these processes kept busy and the machine's load average:
on a 2-core machine where wrk, the gateway and the catalog share the CPUs (and other people's work
shares the machine), CPU per request explains the ratios and is steadier than the rates.

    uv run python benchmarks/bench_catalog_http.py --namespace volume --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import stack
from bench_catalog_search import QUERIES
from results import Measured, Report, Scenario

from mpp_shared import telemetry

SEARCH = "/api/v1/catalog/services"
CONNECTIONS = 8
RATE = 200.0  # requests/s of the paced runs
SLUGS = 12
WARM_UP_SECONDS = 1.0
GATEWAY_P50_LIMIT = 1.3  # x the direct call's p50
SEARCH_P99_LIMIT_MS = 25.0
MARKER = "BENCH_JSON "
HERE = Path(__file__).resolve()

DIRECT = "catalog directly"
GATEWAY = "through the gateway"
NGINX = "nginx -> catalog"
BARE = "bare FastAPI endpoint"


# -- wrk ------------------------------------------------------------------------------------------

LUA_REQUESTS = """\
local paths = {%(paths)s}
local i = 0

function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""

# The paced runs' schedule: one slot every 1/rate s, shared by the thread's connections; a
# connection that finished its request takes the next free slot. A schedule that fell behind
# (every connection busy) restarts from now: those requests are never sent (see the docstring).
LUA_PACING = """\
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local interval_ms = 1000 / %(rate)f
local next_slot = nil

local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

function delay()
  local now = now_ms()
  if next_slot == nil or next_slot < now then
    next_slot = now
  end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  return wait
end
"""

LUA_DONE = """\
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d,'
    .. ' "p99_us": %%d, "max_us": %%d, "connect": %%d, "read": %%d, "write": %%d,'
    .. ' "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def lua_script(paths: list[str], rate: float | None) -> str:
    """wrk's script: cycle through `paths`, pace at `rate` requests/s if given, print JSON."""
    quoted = ", ".join(json.dumps(path) for path in paths)
    script = LUA_REQUESTS % {"paths": quoted}
    if rate:
        script += LUA_PACING % {"rate": rate}
    return script + LUA_DONE % {"marker": MARKER}


@dataclass
class Run:
    """One wrk run's figures, and the CPU time each process on the path used meanwhile."""

    command: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    cpu: dict[str, float] = field(default_factory=dict)
    wrk_cpu: float = 0.0
    load: float = 0.0  # the machine's 1-minute load average at the end: the neighbours' share

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def cpu_note(self) -> str:
        """CPU ms per request of each process, and how many cores were busy."""
        per = max(1, self.requests)
        each = [f"{name} {seconds * 1000 / per:.2f}" for name, seconds in self.cpu.items()]
        each.append(f"wrk {self.wrk_cpu * 1000 / per:.2f}")
        busy = (sum(self.cpu.values()) + self.wrk_cpu) / self.seconds if self.seconds else 0.0
        return (
            f"CPU ms/request: {', '.join(each)}; these busy {busy:.2f} of {os.cpu_count()} cores,"
            f" load average {self.load:.1f}"
        )

    def errors_note(self) -> str:
        return ", ".join(f"{kind} {count}" for kind, count in self.errors.items() if count)


@dataclass
class WrkMeasured(Measured):
    """A Measured whose percentiles are wrk's (from its histogram), not computed from samples."""

    percentiles_ms: dict[int, float] = field(default_factory=dict)
    requests: int = 0

    def percentile(self, q: float) -> float | None:
        return self.percentiles_ms.get(round(q))

    def summary(self) -> dict[str, Any]:
        return super().summary() | {"count": self.requests}


def measured(name: str, run: Run, *, with_rate: bool) -> WrkMeasured:
    """The run as a Measured: at saturation with its rate; paced, the rate is the schedule's, so
    it is only `achieved` (context) and the ratios are to the ceiling's p50."""
    return WrkMeasured(
        name=name,
        rate=run.rate if with_rate else None,
        achieved=None if with_rate else run.rate,
        errors=run.error_count,
        percentiles_ms={50: run.p50_ms, 95: run.p95_ms, 99: run.p99_ms},
        requests=run.requests,
    )


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    return found


async def wrk(url: str, script: Path, *, seconds: float, pids: dict[str, int]) -> Run:
    """Run wrk against `url` with `script`; the figures come from the script's JSON line only."""
    command = [wrk_path(), "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency"]
    command += ["-s", str(script), url]
    cpu_before = {name: stack.cpu_seconds(pid) for name, pid in pids.items()}
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {name: stack.cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    line = next((x for x in out.decode().splitlines() if x.startswith(MARKER)), None)
    if process.returncode or line is None:
        raise RuntimeError(f"{' '.join(command)} failed: {err.decode()}{out.decode()}")
    figures = json.loads(line.removeprefix(MARKER))
    return Run(
        command=" ".join(["wrk", *command[1:-3], "-s", script.name, url]),
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        errors={k: figures[k] for k in ("connect", "read", "write", "timeout", "status")},
        cpu=cpu,
        wrk_cpu=(children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
        load=os.getloadavg()[0],
    )


# -- the bare FastAPI endpoint ---------------------------------------------------------------------


def json_body(size: int) -> bytes:
    """A JSON list answer (`{items, next_cursor}`) of about `size` bytes."""
    items: list[dict[str, Any]] = []
    while True:
        number = len(items)
        items.append(
            {
                "id": f"svc_{number:05d}",
                "slug": f"layanan-contoh-{number}",
                "name": {"id": "Layanan contoh", "en": "Example service"},
                "agency": "disdukcapil",
                "fee_amount": 0,
            }
        )
        body = json.dumps({"items": items, "next_cursor": None}).encode()
        if len(body) >= size:
            return body


def bare_app(search_bytes: int, page_bytes: int) -> Any:
    """The catalog's two public paths answering fixed JSON bytes: routing and HTTP, nothing else."""
    from fastapi import FastAPI, Response

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    search, page = json_body(search_bytes), json_body(page_bytes)

    @app.get(SEARCH)
    async def search_services() -> Response:
        return Response(search, media_type="application/json")

    @app.get(SEARCH + "/{slug}")
    async def service_page(slug: str) -> Response:
        return Response(page, media_type="application/json")

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve_bare(port: int, search_bytes: int, page_bytes: int) -> None:
    """Run the bare app as the services run theirs (`mpp_shared.web.serve`)."""
    import uvicorn

    uvicorn.run(
        bare_app(search_bytes, page_bytes),
        host="127.0.0.1",
        port=port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def start_bare(port: int, search_bytes: int, page_bytes: int) -> subprocess.Popen[bytes]:
    """This file run as the bare app (`--serve-bare`), its output in the benchmarks' logs."""
    command = [sys.executable, str(HERE), "--serve-bare", str(port)]
    command += [str(search_bytes), str(page_bytes)]
    stack.LOGS.mkdir(parents=True, exist_ok=True)
    with (stack.LOGS / "bench-bare-fastapi.log").open("ab") as log:
        return subprocess.Popen(command, cwd=stack.REPO, stdout=log, stderr=subprocess.STDOUT)


@contextlib.asynccontextmanager
async def bare_server(search_bytes: int, page_bytes: int) -> AsyncIterator[tuple[str, int]]:
    """The bare app in its own process; yields its URL and pid."""
    port = stack.free_port()
    process = start_bare(port, search_bytes, page_bytes)
    url = f"http://127.0.0.1:{port}"
    try:
        await stack.until_ready(url, process, "the bare FastAPI app", timeout=60)
        yield url, process.pid
    finally:
        stack.stop(process, signal.SIGINT, wait=15)


# -- nginx ----------------------------------------------------------------------------------------

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    upstream catalog {{
        server {upstream};
        keepalive 16;
        keepalive_timeout 4s;  # under uvicorn's 5 s, so nginx never reuses a closing connection
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://catalog;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # answers stay in memory: the workers run as nobody and cannot write the temp folder
            proxy_buffer_size 16k;
            proxy_buffers 16 16k;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
"""


def start_nginx(binary: str, folder: str, conf: Path) -> subprocess.Popen[bytes]:
    command = [binary, "-p", folder, "-c", str(conf), "-e", f"{folder}/error.log"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.asynccontextmanager
async def nginx_proxy(catalog_url: str) -> AsyncIterator[tuple[str, int]]:
    """nginx proxying to the catalog, its config and logs in a temporary folder; yields its URL
    and its worker's pid. The workers run as nginx's default user (nobody) when started as root."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = stack.free_port()
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as folder:
        conf = Path(folder) / "nginx.conf"
        upstream = catalog_url.removeprefix("http://")
        conf.write_text(NGINX_CONF.format(folder=folder, upstream=upstream, port=port))
        process = start_nginx(binary, folder, conf)
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                await stack.until_ready(url, process, "nginx", timeout=60)
            except RuntimeError as exc:
                log = (Path(folder) / "error.log").read_text(errors="replace")
                raise RuntimeError(f"{exc}: {log[-2000:]}") from exc
            yield url, stack.child_of(process.pid, "nginx")
        finally:
            stack.stop(process, signal.SIGQUIT, wait=15)  # graceful: finish what is in flight


# -- the scenarios --------------------------------------------------------------------------------


@dataclass
class Target:
    """One way to the catalog's answers, and the processes that do the work on it."""

    name: str
    url: str
    pids: dict[str, int]


async def paths_and_sizes(catalog: str, gateway: str) -> tuple[list[str], list[str], int, int]:
    """The search paths and page paths, checked (200 directly and through the gateway), which
    also warms the services' caches; and the mean size of the catalog's answers to each."""
    async with httpx.AsyncClient(timeout=30) as http:
        listing = await http.get(catalog + SEARCH, params={"limit": 100})
        slugs = [item["slug"] for item in listing.raise_for_status().json()["items"]]
        if not slugs:
            raise RuntimeError("the catalog lists no published services: seed the namespace")
        chosen = slugs[:: max(1, len(slugs) // SLUGS)][:SLUGS]
        searches = [f"{SEARCH}?q={quote(query)}" for query in QUERIES]
        pages = [f"{SEARCH}/{quote(slug)}" for slug in chosen]
        sizes: dict[str, list[int]] = {"search": [], "page": []}
        for kind, paths in (("search", searches), ("page", pages)):
            for path in paths:
                direct = (await http.get(catalog + path)).raise_for_status()
                (await http.get(gateway + path)).raise_for_status()
                sizes[kind].append(len(direct.content))
    mean = {kind: sum(values) // len(values) for kind, values in sizes.items()}
    return searches, pages, mean["search"], mean["page"]


async def measure(
    targets: list[Target], paths: list[str], folder: Path, seconds: float, label: str
) -> tuple[dict[str, Run], dict[str, Run]]:
    """Each target at saturation, then paced; after a short warm-up of its connections."""
    saturating, pacing = folder / f"{label}-saturation.lua", folder / f"{label}-paced.lua"
    saturating.write_text(lua_script(paths, None))
    pacing.write_text(lua_script(paths, RATE))
    at_saturation: dict[str, Run] = {}
    paced: dict[str, Run] = {}
    for target in targets:
        await wrk(target.url, saturating, seconds=WARM_UP_SECONDS, pids={})
        at_saturation[target.name] = await wrk(
            target.url, saturating, seconds=seconds, pids=target.pids
        )
        paced[target.name] = await wrk(target.url, pacing, seconds=seconds, pids=target.pids)
        for mode, run in (("saturated", at_saturation[target.name]), ("paced", paced[target.name])):
            errors = f", errors: {run.errors_note()}" if run.error_count else ""
            print(
                f"  {label:<6} {mode:<9} {target.name:<22} {run.rate:7.1f} requests/s"
                f"  p50 {run.p50_ms:7.2f}  p99 {run.p99_ms:7.2f} ms{errors}",
                flush=True,
            )
    return at_saturation, paced


def saturation_scenario(key: str, what: str, runs: dict[str, Run], order: list[str]) -> Scenario:
    """At saturation, the gateway against the direct call; nginx and the bare app beside them."""
    direct, gateway = runs[DIRECT], runs[GATEWAY]
    ratio = gateway.p50_ms / direct.p50_ms if direct.p50_ms else float("inf")
    met = ratio <= GATEWAY_P50_LIMIT and not gateway.error_count and not direct.error_count
    notes = [
        f"gateway p50 {gateway.p50_ms:.2f} ms = {ratio:.2f}x the direct call's"
        f" {direct.p50_ms:.2f} ms; the ratio column is the share of the direct call's requests/s",
        f"{CONNECTIONS} connections: p50 is mostly queueing (about {CONNECTIONS} / rate)",
    ]
    notes += [f"{name}: {runs[name].cpu_note()}" for name in order]
    notes += [
        f"{name}: errors {runs[name].errors_note()}" for name in order if runs[name].error_count
    ]
    notes.append(f"command: {direct.command}")
    return Scenario(
        key=f"catalog_http.{key}.saturation",
        title=f"{what} at saturation (wrk -t1 -c{CONNECTIONS})",
        ceiling=measured(DIRECT, direct, with_rate=True),
        measured=[measured(name, runs[name], with_rate=True) for name in order if name != DIRECT],
        target=f"gateway p50 <= {GATEWAY_P50_LIMIT}x the direct call's",
        met=met,
        notes=notes,
    )


def paced_scenario(key: str, what: str, runs: dict[str, Run], order: list[str]) -> Scenario:
    """At 200 requests/s: search is held to its p99, the page to the gateway's p50 overhead."""
    direct, gateway = runs[DIRECT], runs[GATEWAY]
    ratio = gateway.p50_ms / direct.p50_ms if direct.p50_ms else float("inf")
    kept_up = gateway.rate >= 0.95 * RATE
    clean = not gateway.error_count
    if key == "search":
        target = f"gateway p99 < {SEARCH_P99_LIMIT_MS:.0f} ms at {RATE:.0f} requests/s"
        met = gateway.p99_ms < SEARCH_P99_LIMIT_MS and kept_up and clean
    else:
        target = f"gateway p50 <= {GATEWAY_P50_LIMIT}x the direct call's at {RATE:.0f} requests/s"
        met = ratio <= GATEWAY_P50_LIMIT and kept_up and clean and not direct.error_count
    notes = [
        f"gateway p50 {gateway.p50_ms:.2f} ms = {ratio:.2f}x the direct call's"
        f" {direct.p50_ms:.2f} ms; gateway p99 {gateway.p99_ms:.2f} ms,"
        f" max {gateway.max_ms:.1f} ms",
        "achieved requests/s: " + ", ".join(f"{name} {runs[name].rate:.1f}" for name in order),
        "delay()-paced, closed loop: tails are a lower bound (coordinated omission)",
    ]
    if not kept_up:
        notes.append(f"the gateway did not keep up with {RATE:.0f} requests/s")
    notes += [f"{name}: {runs[name].cpu_note()}" for name in order]
    notes += [
        f"{name}: errors {runs[name].errors_note()}" for name in order if runs[name].error_count
    ]
    notes.append(f"command: {direct.command}")
    return Scenario(
        key=f"catalog_http.{key}.paced",
        title=f"{what} at {RATE:.0f} requests/s (wrk, delay-paced, {CONNECTIONS} connections)",
        ceiling=measured(DIRECT, direct, with_rate=False),
        measured=[measured(name, runs[name], with_rate=False) for name in order if name != DIRECT],
        target=target,
        met=met,
        notes=notes,
    )


async def scenarios(stack: stack.Stack, *, seconds: float) -> list[Scenario]:
    """Measure with the running `stack` (its catalog and gateway); starts and stops nginx and
    the bare app itself."""
    wrk_path()
    catalog, gateway = stack.services["catalog"], stack.services["gateway"]
    searches, pages, search_bytes, page_bytes = await paths_and_sizes(catalog.url, gateway.url)
    print(
        f"{len(searches)} queries (answers {search_bytes / 1000:.1f} kB on average),"
        f" {len(pages)} service pages ({page_bytes / 1000:.1f} kB)",
        flush=True,
    )
    async with (
        bare_server(search_bytes, page_bytes) as (bare_url, bare_pid),
        nginx_proxy(catalog.url) as (nginx_url, nginx_pid),
    ):
        targets = [
            Target(DIRECT, catalog.url, {"catalog": catalog.pid}),
            Target(GATEWAY, gateway.url, {"gateway": gateway.pid, "catalog": catalog.pid}),
            Target(NGINX, nginx_url, {"nginx": nginx_pid, "catalog": catalog.pid}),
            Target(BARE, bare_url, {"bare app": bare_pid}),
        ]
        order = [DIRECT, GATEWAY, NGINX, BARE]
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
            found: list[Scenario] = []
            for key, what, paths in (
                ("search", "Catalog search", searches),
                ("page", "Service page", pages),
            ):
                at_saturation, paced = await measure(targets, paths, Path(folder), seconds, key)
                found.append(saturation_scenario(key, what, at_saturation, order))
                found.append(paced_scenario(key, what, paced, order))
    return found


async def main(arguments: argparse.Namespace) -> None:
    report = Report(
        context={
            "namespace": arguments.namespace,
            "wrk": f"-t1 -c{CONNECTIONS} -d{arguments.seconds:g}s; paced at {RATE:.0f}/s",
        }
    )
    async with stack.started(arguments.namespace, ["catalog", "gateway"]) as running:
        for scenario in await scenarios(running, seconds=arguments.seconds):
            report.add(scenario)
    report.write()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-bare"]:
        port, search_bytes, page_bytes = (int(value) for value in sys.argv[2:5])
        serve_bare(port, search_bytes, page_bytes)
        sys.exit()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--namespace", default="volume", help="the seeded namespace to read")
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    telemetry.setup("bench", log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(parser.parse_args()))
