"""Alembic's entry point for the gateway's database: `mpp-migrate gateway revision -m ...`."""

from gateway.identity.store import metadata
from mpp_shared.db import run_migrations

run_migrations(metadata)
