"""Where the local servers that `make up` and `make servers` run are (development and tests)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import URL

from mpp_shared.settings import DEVELOPMENT_SECRET

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
