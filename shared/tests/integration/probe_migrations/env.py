"""Alembic's entry point for the probe services these tests run."""

from mpp_shared.db import run_migrations

run_migrations(None)
