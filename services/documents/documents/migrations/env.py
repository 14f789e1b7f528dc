"""Alembic's entry point for the documents database: `mpp-migrate documents revision -m ...`."""

from documents.store import metadata
from mpp_shared.db import run_migrations

run_migrations(metadata)
