"""Benchmark scenario 1: the reads people wait for, on a year of data, at 50 requests/s.

The officer's inbox (the busiest agency's), a citizen's list (the citizen with the most
applications), one application's page with its timeline, the public tracking page and the command
center's summary, each asked at a fixed rate (open loop, see `load.py`) through the gateway and
straight to the applications service, with real tokens from the gateway. The ceiling is the same
SQL alone: the store's own query functions called back to back in this process with the same
driver, no HTTP, no token, no JSON. Targets: inbox and citizen list p99 under 50 ms, the summary
under 200 ms, the gateway adding at most 30% to the direct call's p50.

    uv run python benchmarks/bench_reads.py [--namespace volume] [--rate 50] [--seconds 15]
    # a service under py-spy meanwhile:
    uv run --with py-spy python benchmarks/bench_reads.py --profile applications=/tmp/a.svg
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import stack
from load import back_to_back, open_loop
from results import Report, Scenario
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications import store
from applications.settings import Settings as ApplicationsSettings
from applications.workdays import WorkingCalendar
from mpp_shared import db, telemetry
from mpp_shared.local import postgres_port
from notifications.contacts import store as contacts
from notifications.settings import Settings as NotificationsSettings

PASSWORD = "sinjai-volume-2026"  # noqa: S105 (seed_volume.py's accounts, local only)
MPP_ADMIN = "admin-mpp-volume"
CEILING_ROUNDS = 200
GATEWAY_RATIO = 1.3  # the most the gateway may add to a direct call's p50


@dataclass
class Subjects:
    """Who and what the reads are about: the busiest cases in the loaded year."""

    agency: str
    citizen_id: str
    citizen_phone: str
    application_id: str
    tracking_number: str
    check_code: str


@dataclass
class Read:
    """One read: its path, whose token asks it, the store's queries that answer it, the target."""

    key: str
    title: str
    path: str
    who: str | None  # "officer", "citizen", "admin" or None (anonymous)
    sql: Callable[[AsyncConnection], Awaitable[Any]]
    target_ms: float | None  # p99 through the gateway
    target: str


async def subjects(engine: AsyncEngine, notifications: AsyncEngine) -> Subjects:
    """The agency with the most open applications, the citizen with the most applications, and
    that citizen's application with the longest timeline."""
    a = store.applications.c
    async with engine.connect() as connection:
        agency = await connection.scalar(
            select(a.agency)
            .where(a.open)
            .group_by(a.agency)
            .order_by(func.count().desc(), a.agency)
            .limit(1)
        )
        citizen_id = await connection.scalar(
            select(a.citizen_id)
            .group_by(a.citizen_id)
            .order_by(func.count().desc(), a.citizen_id)
            .limit(1)
        )
        h = store.application_history.c
        longest = (
            await connection.execute(
                select(a.id, a.tracking_number, a.check_code)
                .join(store.application_history, h.application_id == a.id)
                .where(a.citizen_id == citizen_id)
                .group_by(a.id, a.tracking_number, a.check_code)
                .order_by(func.count().desc(), a.id)
                .limit(1)
            )
        ).one()
    async with notifications.connect() as connection:
        phone = await connection.scalar(
            select(contacts.contacts.c.phone).where(contacts.contacts.c.citizen_id == citizen_id)
        )
    if not (agency and citizen_id and phone):
        raise SystemExit("no loaded year in this namespace: run `make seed-volume` first")
    return Subjects(
        agency, citizen_id, phone, longest.id, longest.tracking_number, longest.check_code
    )


def reads(who: Subjects, calendar: WorkingCalendar) -> list[Read]:
    """The five reads, each with the store functions its endpoint calls."""

    async def inbox(connection: AsyncConnection) -> Any:
        now = dt.datetime.now(dt.UTC)
        await store.inbox_counts(
            connection, agency=who.agency, now=now, nearing_until=calendar.add(now, 1)
        )
        return await store.inbox_page(
            connection, agency=who.agency, state=None, cursor=None, limit=50
        )

    async def mine(connection: AsyncConnection) -> Any:
        return await store.of_citizen(connection, who.citizen_id, cursor=None, limit=20)

    async def detail(connection: AsyncConnection) -> Any:
        return await store.find(connection, who.application_id)

    async def tracking(connection: AsyncConnection) -> Any:
        return await store.by_tracking_number(connection, who.tracking_number)

    async def summary(connection: AsyncConnection) -> Any:
        now = dt.datetime.now(dt.UTC)
        today = dt.datetime.combine(calendar.local_date(now), dt.time(), tzinfo=calendar.zone)
        return await store.summary_figures(
            connection, today=today, since=now - dt.timedelta(days=30), now=now
        )

    return [
        Read(
            "reads.inbox",
            f"Officer inbox ({who.agency}, 50 soonest due, with counts)",
            "/api/v1/applications/inbox",
            "officer",
            inbox,
            50,
            "p99 < 50 ms through the gateway",
        ),
        Read(
            "reads.citizen-list",
            "A citizen's applications (first page of 20)",
            "/api/v1/applications",
            "citizen",
            mine,
            50,
            "p99 < 50 ms through the gateway",
        ),
        Read(
            "reads.detail",
            "One application with its timeline",
            f"/api/v1/applications/{who.application_id}",
            "citizen",
            detail,
            None,
            "gateway p50 <= 1.3x direct",
        ),
        Read(
            "reads.tracking",
            "Public tracking page (anonymous)",
            f"/api/v1/track/{who.tracking_number}?code={who.check_code}",
            None,
            tracking,
            None,
            "gateway p50 <= 1.3x direct",
        ),
        Read(
            "reads.summary",
            "Command-center summary (whole mall)",
            "/api/v1/ops/summary",
            "admin",
            summary,
            200,
            "p99 < 200 ms through the gateway",
        ),
    ]


async def sign_in(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": PASSWORD},
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def scenarios(running: stack.Stack, *, rate: float, seconds: float) -> list[Scenario]:
    """Each read at `rate` per second for `seconds` through the gateway and directly, beside
    its SQL alone."""
    settings = ApplicationsSettings(namespace=running.namespace, postgres_port=postgres_port())
    notes_settings = NotificationsSettings(
        namespace=running.namespace, postgres_port=postgres_port()
    )
    engine, notifications = db.create_engine(settings), db.create_engine(notes_settings)
    found: list[Scenario] = []
    try:
        who = await subjects(engine, notifications)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with (
            httpx.AsyncClient(base_url=running.url("gateway"), timeout=30, limits=limits) as gw,
            httpx.AsyncClient(
                base_url=running.url("applications"), timeout=30, limits=limits
            ) as direct,
        ):
            tokens: dict[str | None, dict[str, str]] = {
                "officer": await sign_in(gw, f"petugas-{who.agency.lower()}-1"),
                "citizen": await sign_in(gw, who.citizen_phone),
                "admin": await sign_in(gw, MPP_ADMIN),
                None: {},
            }
            for read in reads(who, WorkingCalendar(settings.timezone)):
                found.append(
                    await measure(
                        read, running, engine, gw, direct, tokens[read.who], rate, seconds
                    )
                )
    finally:
        await engine.dispose()
        await notifications.dispose()
    return found


async def measure(
    read: Read,
    running: stack.Stack,
    engine: AsyncEngine,
    gateway: httpx.AsyncClient,
    direct: httpx.AsyncClient,
    headers: dict[str, str],
    rate: float,
    seconds: float,
) -> Scenario:
    def asking(http: httpx.AsyncClient) -> Callable[[int], Awaitable[None]]:
        async def ask(_: int) -> None:
            (await http.get(read.path, headers=headers)).raise_for_status()

        return ask

    async def sql(_: int) -> None:
        async with engine.connect() as connection:
            await read.sql(connection)

    for http in (gateway, direct):  # warm up: connections, caches, the JIT of the planner
        await back_to_back("warm-up", asking(http), count=20, concurrency=2)
    await back_to_back("warm-up", sql, count=20)
    ceiling = await back_to_back("the store's SQL alone, in process", sql, count=CEILING_ROUNDS)
    before = running.cpu_seconds()
    straight = await open_loop(
        f"straight to applications at {rate:g}/s", asking(direct), rate=rate, seconds=seconds
    )
    middle = running.cpu_seconds()
    through = await open_loop(
        f"through the gateway at {rate:g}/s", asking(gateway), rate=rate, seconds=seconds
    )
    after = running.cpu_seconds()

    def per_request(start: dict[str, float], end: dict[str, float], count: int) -> str:
        spent = {n: 1000 * (end[n] - start[n]) / max(1, count) for n in ("gateway", "applications")}
        return ", ".join(f"{name} {ms:.1f}" for name, ms in spent.items())

    p99 = through.percentile(99)
    gateway_ratio = (through.percentile(50) or 0) / (straight.percentile(50) or 1)
    met = bool(through.latencies_ms) and not (through.errors or straight.errors)
    if read.target_ms is not None:  # the read's own target; the gateway's is in the notes
        met = met and p99 is not None and p99 < read.target_ms
    else:
        met = met and gateway_ratio <= GATEWAY_RATIO
    ceiling.rate = None  # compare p50s: the ceiling ran back to back, the others at a fixed rate
    return Scenario(
        key=read.key,
        title=f"{read.title}: GET {read.path.split('/api/v1')[1][:40]}",
        ceiling=ceiling,
        measured=[straight, through],
        target=read.target,
        met=met,
        notes=[
            f"gateway p50 / direct p50 = {gateway_ratio:.2f} (target <= {GATEWAY_RATIO}:"
            f" {'met' if gateway_ratio <= GATEWAY_RATIO else 'MISSED'})",
            "CPU ms per request, straight: "
            + per_request(before, middle, len(straight.latencies_ms) + straight.errors),
            "CPU ms per request, through the gateway: "
            + per_request(middle, after, len(through.latencies_ms) + through.errors),
        ],
    )


async def main(arguments: argparse.Namespace) -> None:
    report = Report(
        context={
            "benchmark": "bench_reads.py",
            "namespace": arguments.namespace,
            "command": " ".join(sys.argv),
        }
    )
    profile = dict(stack.profile_argument(p) for p in arguments.profile)
    async with stack.started(arguments.namespace, profile=profile) as running:
        for scenario in await scenarios(running, rate=arguments.rate, seconds=arguments.seconds):
            report.add(scenario)
    report.write()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--namespace", default="volume")
    parser.add_argument("--rate", type=float, default=50, help="requests per second")
    parser.add_argument("--seconds", type=float, default=15, help="at that rate, per path")
    parser.add_argument("--profile", action="append", default=[], help=stack.PROFILE_HELP)
    telemetry.setup("bench", log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(parser.parse_args()))
