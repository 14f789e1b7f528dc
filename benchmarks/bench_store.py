"""Benchmark scenario 5: the store's own ceiling with the services' driver.

How many single-row inserts (each its own transaction, as a submission's is) and primary-key
reads (of the loaded year's applications) PostgreSQL does per second on this machine, through
SQLAlchemy Core on asyncpg (what every service uses) beside asyncpg alone with a prepared
statement (the ceiling). The services' figures are read against these: a service cannot answer
more requests per second than its store does queries.

    uv run python benchmarks/bench_store.py [--namespace volume] [--seconds 10] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from load import back_to_back
from results import Measured, Report, Scenario
from sqlalchemy import Column, DateTime, Table, Text, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB

from applications import store
from applications.settings import Settings as ApplicationsSettings
from mpp_shared import db
from mpp_shared.local import postgres_port, scratch_databases
from mpp_shared.settings import ServiceSettings

metadata = db.metadata()
rows = Table(
    "rows",
    metadata,
    Column("id", Text, primary_key=True),
    Column("agency", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("form", JSONB, nullable=False),
)
SERVICES_DRIVER = "SQLAlchemy Core on asyncpg (the services')"
FORM = {"nama": "Andi Baso", "alamat": "Jl. Persatuan Raya No. 12, Sinjai", "keperluan": "baru"}


def dsn(settings: ServiceSettings) -> str:
    """The service's database as a plain asyncpg address."""
    return db.url(settings, driver="postgresql").render_as_string(hide_password=False)


async def rate_of(
    name: str, action: Callable[[int], Awaitable[None]], *, seconds: float, clients: int
) -> Measured:
    """`action` back to back by `clients` workers for about `seconds` (count from a trial)."""
    trial = await back_to_back(name, action, count=clients * 20, concurrency=clients)
    count = max(clients * 20, round((trial.rate or 1) * seconds))
    return await back_to_back(name, action, count=count, concurrency=clients)


async def inserts(seconds: float, clients: int) -> Scenario:
    """Single-row insert transactions into a scratch table of a scratch database."""
    namespace = f"bench{secrets.token_hex(3)}"
    settings = ServiceSettings(
        service_name="bench", namespace=namespace, postgres_port=postgres_port()
    )
    async with scratch_databases(namespace, ["bench"]):
        engine = db.create_engine(settings)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        pool = await asyncpg.create_pool(dsn(settings), min_size=clients, max_size=clients)
        form = json.dumps(FORM)
        statement = (
            "INSERT INTO rows (id, agency, state, submitted_at, form)"
            " VALUES ($1, $2, $3, now(), $4::jsonb)"
        )

        async def raw(_: int) -> None:
            async with pool.acquire() as connection:
                await connection.execute(statement, str(uuid.uuid4()), "DISDUKCAPIL", "new", form)

        async def core(_: int) -> None:
            async with engine.begin() as connection:
                await connection.execute(
                    insert(rows).values(
                        id=str(uuid.uuid4()),
                        agency="DISDUKCAPIL",
                        state="new",
                        submitted_at=func.now(),
                        form=FORM,
                    )
                )

        try:
            ceiling = await rate_of(
                "asyncpg alone, prepared", raw, seconds=seconds, clients=clients
            )
            through = await rate_of(SERVICES_DRIVER, core, seconds=seconds, clients=clients)
        finally:
            await pool.close()
            await engine.dispose()
    return Scenario(
        key="store.inserts",
        title=f"Store ceiling: single-row insert transactions, {clients} clients",
        ceiling=ceiling,
        measured=[through],
        notes=["each insert is its own transaction: its commit waits for the WAL flush"],
    )


async def point_reads(namespace: str, seconds: float, clients: int) -> Scenario:
    """Applications read by primary key, at random, from the loaded year."""
    settings = ApplicationsSettings(namespace=namespace, postgres_port=postgres_port())
    engine = db.create_engine(settings)
    async with engine.connect() as connection:
        ids = list(await connection.scalars(select(store.applications.c.id)))
    if not ids:
        raise SystemExit("no loaded year in this namespace: run `make seed-volume` first")
    pool = await asyncpg.create_pool(dsn(settings), min_size=clients, max_size=clients)
    chosen = random.Random(7)  # noqa: S311 (which rows to read, not a secret)
    columns = ", ".join(column.name for column in store.applications.c)
    statement = f"SELECT {columns} FROM applications WHERE id = $1"  # noqa: S608 (our columns)

    async def raw(_: int) -> None:
        async with pool.acquire() as connection:
            if await connection.fetchrow(statement, chosen.choice(ids)) is None:
                raise LookupError("a loaded application is missing")

    async def core(_: int) -> None:
        async with engine.connect() as connection:
            found = await connection.execute(
                select(store.applications).where(store.applications.c.id == chosen.choice(ids))
            )
            if found.first() is None:
                raise LookupError("a loaded application is missing")

    try:
        ceiling = await rate_of("asyncpg alone, prepared", raw, seconds=seconds, clients=clients)
        through = await rate_of(SERVICES_DRIVER, core, seconds=seconds, clients=clients)
    finally:
        await pool.close()
        await engine.dispose()
    return Scenario(
        key="store.point-reads",
        title=f"Store ceiling: an application by id, of {len(ids):,}, {clients} clients",
        ceiling=ceiling,
        measured=[through],
        notes=["whole rows (the application's columns, its form as JSONB)"],
    )


async def scenarios(namespace: str, *, seconds: float, clients: int) -> list[Scenario]:
    return [
        await inserts(seconds, clients),
        await point_reads(namespace, seconds, clients),
    ]


async def main(arguments: argparse.Namespace) -> None:
    report = Report(context={"benchmark": "bench_store.py", "command": " ".join(sys.argv)})
    for scenario in await scenarios(
        arguments.namespace, seconds=arguments.seconds, clients=arguments.clients
    ):
        report.add(scenario)
    report.write()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--namespace", default="volume")
    parser.add_argument("--seconds", type=float, default=10, help="per way")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    asyncio.run(main(parser.parse_args()))
