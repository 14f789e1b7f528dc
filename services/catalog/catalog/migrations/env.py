"""Alembic's entry point for the catalog's database: `mpp-migrate catalog revision -m ...`."""

from catalog.store import metadata
from mpp_shared.db import run_migrations

run_migrations(metadata)
