"""Where the local servers that `make up` and `make servers` run are (development and tests)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from sqlalchemy import URL

from mpp_shared.settings import DEVELOPMENT_SECRET, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("catalog", "applications", "documents", "notifications", "gateway")


def postgres_port() -> int:
    """The local cluster's port: as set, or as `make servers` chose it (5432 unless taken)."""
    if "MPP_POSTGRES_PORT" in os.environ:
        return int(os.environ["MPP_POSTGRES_PORT"])
    chosen = Path(os.environ.get("MPP_DATA_DIR", REPO / ".data")) / "run" / "postgres.port"
    return int(chosen.read_text()) if chosen.exists() else 5432


def postgres_admin_url() -> URL:
    """The local cluster's superuser (development only), to create and drop test databases."""
    return URL.create(
        "postgresql",
        username=os.environ.get("MPP_POSTGRES_ADMIN_USER", "postgres"),
        password=os.environ.get("MPP_POSTGRES_ADMIN_PASSWORD", DEVELOPMENT_SECRET),
        host=os.environ.get("MPP_POSTGRES_HOST", "127.0.0.1"),
        port=postgres_port(),
        database="postgres",
    )


@contextlib.asynccontextmanager
async def scratch_databases(namespace: str, services: Iterable[str]) -> AsyncIterator[None]:
    """Databases of these services in `namespace` on the local cluster, dropped afterwards: for
    benchmarks and tools that must not touch the running platform's data."""
    from mpp_shared import db

    for service in services:
        own = ServiceSettings(service_name=service, namespace=namespace)
        await db.ensure_database(postgres_admin_url(), own)
    try:
        yield
    finally:
        await db.drop_databases(postgres_admin_url(), prefix=f"{namespace}_")
