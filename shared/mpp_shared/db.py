"""A service's own PostgreSQL database: the engine, transactions and migrations.

Each service signs in as its own role to its own database (`mpp_<service>`, or
`<namespace>_<service>` in a test run) and nothing else reads it. Tables are SQLAlchemy Core
tables in the service's `store.py`; every query lives there and returns models. Schema changes
are Alembic migrations in the service's `migrations/` package, applied at start-up under an
advisory lock, so replicas starting together migrate once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, MetaData, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from mpp_shared.settings import ServiceSettings

log = logging.getLogger(__name__)

# Constraint names follow one pattern, so migrations can name what they drop.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def metadata() -> MetaData:
    """A service's table metadata, with the platform's constraint names."""
    return MetaData(naming_convention=NAMING)


class VersionConflict(Exception):
    """The row changed since it was read; the caller reads it again or gives up."""


def url(settings: ServiceSettings, *, driver: str = "postgresql+asyncpg") -> URL:
    """Where the service's database is, signed in as the service's own role."""
    return URL.create(
        driver,
        username=settings.postgres_role,
        password=settings.postgres_password.get_secret_value(),
        host=settings.postgres_host,
        port=settings.postgres_port,
        database=settings.postgres_database_name,
    )


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    """The service's connection pool; it connects lazily, on first use."""
    return create_async_engine(
        url(settings),
        pool_size=settings.postgres_pool_size,
        max_overflow=settings.postgres_pool_size,
        pool_timeout=settings.postgres_pool_timeout,
        pool_recycle=1800,
        connect_args={
            "timeout": 5,
            "command_timeout": 30,
            "server_settings": {"application_name": settings.service_name},
        },
    )


_AFTER_COMMIT = "mpp_after_commit"


@contextlib.asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction: committed when the block ends, rolled back if it raises; what
    `after_commit` registered runs once the commit is done."""
    callbacks: list[Callable[[], None]] = []
    async with engine.begin() as connection:
        connection.info[_AFTER_COMMIT] = callbacks
        try:
            yield connection
        finally:
            connection.info.pop(_AFTER_COMMIT, None)
    for callback in callbacks:
        callback()


@contextlib.asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads that each stand alone (no transaction: each statement sees what
    was committed when it ran). One round trip per read instead of three: a connection used
    as is sends BEGIN before its first statement and ROLLBACK when it is given back."""
    async with engine.connect() as connection:
        yield await connection.execution_options(isolation_level="AUTOCOMMIT")


def after_commit(connection: AsyncConnection, callback: Callable[[], None]) -> None:
    """Run `callback` when this transaction has committed (e.g. wake a worker that will read
    what it wrote); never if it rolls back."""
    connection.info[_AFTER_COMMIT].append(callback)


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def is_unique_violation(error: IntegrityError) -> bool:
    """True when the database refused a row because a unique key exists already."""
    return getattr(error.orig, "sqlstate", None) == "23505" or "UniqueViolation" in repr(error.orig)


def is_serialization_failure(error: DBAPIError) -> bool:
    """True for a deadlock or serialization failure: the transaction may simply be retried."""
    return getattr(error.orig, "sqlstate", None) in ("40001", "40P01")


def is_unreachable(error: BaseException) -> bool:
    """True when the database could not be reached or the connection was lost (refused, reset,
    shut down, starting up), or no pooled connection came free in time (the service is
    overloaded): nothing about the request or the event is wrong, and the same work succeeds
    once the database is back. Looks through the exceptions it was raised from (a
    transaction left unusable by a lost connection fails with an error of its own)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | TimeoutError | PoolTimeout):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        raised = current.orig if isinstance(current, DBAPIError) else current
        state = str(getattr(raised, "sqlstate", "") or "")
        if state.startswith(("08", "57P")):  # connection exception; admin shutdown, starting up
            return True
        if type(current).__name__ in ("ConnectionDoesNotExistError", "ConnectionFailureError"):
            return True
        current = current.__cause__ or current.__context__
    return False


# --- migrations ---------------------------------------------------------------------------------

# One advisory lock key for migrations; each service has its own database, so it is never shared.
_MIGRATION_LOCK = 74_730_701


def alembic_config(settings: ServiceSettings, migrations: str | Path) -> Config:
    """Alembic's configuration for a service's `migrations` package (e.g. `catalog.migrations`),
    or a folder of migrations."""
    config = Config()
    location = migrations if isinstance(migrations, Path) else resources.files(migrations)
    config.set_main_option("script_location", str(location))
    config.set_main_option("path_separator", "os")
    return config


async def migrate(settings: ServiceSettings, migrations: str | Path) -> None:
    """Bring the service's database to the newest migration; replicas wait for each other."""
    config = alembic_config(settings, migrations)
    engine = create_async_engine(url(settings), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            await connection.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
            try:
                await connection.run_sync(_upgrade, config)
                await connection.commit()
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK}
                )
                await connection.commit()
    finally:
        await engine.dispose()


def _upgrade(connection: Any, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def run_migrations(target_metadata: MetaData | None) -> None:
    """The body of every service's `migrations/env.py`: on the connection `migrate` (or
    `mpp-migrate`) hands to Alembic."""
    from alembic import context

    context.configure(
        connection=context.config.attributes["connection"], target_metadata=target_metadata
    )
    with context.begin_transaction():
        context.run_migrations()


# --- databases and roles (local servers and test runs) ------------------------------------------


async def ensure_database(admin_url: URL, settings: ServiceSettings) -> None:
    """Create a service's role and database unless they exist; only that role may connect."""
    import asyncpg

    role, database = settings.postgres_role, settings.postgres_database_name
    password = settings.postgres_password.get_secret_value()
    connection = await _admin(admin_url)
    try:
        quoted_role = _quote(role)
        if not await connection.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await connection.execute(
                    f"CREATE ROLE {quoted_role} LOGIN PASSWORD {_literal(password)}"
                )
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await connection.execute(f"CREATE DATABASE {_quote(database)} OWNER {quoted_role}")
            await connection.execute(f"REVOKE ALL ON DATABASE {_quote(database)} FROM PUBLIC")
    finally:
        await connection.close()


async def drop_databases(admin_url: URL, *, prefix: str) -> list[str]:
    """Drop every database whose name starts with `prefix` (a test run's); returns their names."""
    connection = await _admin(admin_url)
    try:
        names = [
            row["datname"]
            for row in await connection.fetch(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix
            )
        ]
        for name in names:
            await connection.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
        return names
    finally:
        await connection.close()


async def drop_database(admin_url: URL, name: str) -> None:
    """Drop one database, cutting its sessions (a restore, replacing it from a dump)."""
    connection = await _admin(admin_url)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
    finally:
        await connection.close()


async def sessions(admin_url: URL, databases: list[str]) -> list[tuple[str, str, int]]:
    """Who is connected to these databases: (database, application name, sessions)."""
    connection = await _admin(admin_url)
    try:
        rows = await connection.fetch(
            "SELECT datname, application_name, count(*) AS n FROM pg_stat_activity"
            " WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid()"
            " GROUP BY datname, application_name ORDER BY datname, application_name",
            databases,
        )
    finally:
        await connection.close()
    return [(row["datname"], row["application_name"], row["n"]) for row in rows]


async def _admin(admin_url: URL) -> Any:
    """A connection of the cluster's superuser to its `postgres` database."""
    import asyncpg

    return await asyncpg.connect(
        host=admin_url.host,
        port=admin_url.port,
        user=admin_url.username,
        password=admin_url.password,
        database="postgres",
    )


def _quote(identifier: str) -> str:
    if not identifier.replace("_", "").isalnum():
        raise ValueError(f"not a plain identifier: {identifier!r}")
    return f'"{identifier}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- the command line: `uv run mpp-migrate catalog revision -m "..."` ---------------------------


def main() -> None:
    """Apply a service's migrations, or write a new one from the difference to its tables."""
    import argparse

    parser = argparse.ArgumentParser(prog="mpp-migrate", description=main.__doc__)
    parser.add_argument("service", help="catalog, applications, documents, notifications, gateway")
    parser.add_argument("command", choices=["upgrade", "revision", "check"])
    parser.add_argument("-m", "--message", default="change", help="the new revision's title")
    args = parser.parse_args()
    settings = ServiceSettings(service_name=args.service)
    migrations = f"{args.service}.migrations"
    asyncio.run(migrate(settings, migrations))
    if args.command == "upgrade":
        return
    config = alembic_config(settings, migrations)

    def on(sync_connection: Any) -> None:
        config.attributes["connection"] = sync_connection
        if args.command == "revision":
            command.revision(config, message=args.message, autogenerate=True)
        else:
            command.check(config)

    async def compare() -> None:
        engine = create_async_engine(url(settings))
        async with engine.connect() as connection:
            await connection.run_sync(on)
        await engine.dispose()

    asyncio.run(compare())
