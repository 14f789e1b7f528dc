"""Alembic's entry point for the notifications database: `mpp-migrate notifications revision`."""

from mpp_shared.db import run_migrations
from notifications.store import tables

run_migrations(tables())
