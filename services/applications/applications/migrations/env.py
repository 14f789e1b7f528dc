"""Alembic's entry point for the applications database:
`mpp-migrate applications revision -m ...`."""

# Each area's store adds its tables to the one metadata when imported.
from applications import catalog_view, citizens_view, documents_view, numbers  # noqa: F401
from applications.bookings import store as bookings_store  # noqa: F401
from applications.complaints import store as complaints_store  # noqa: F401
from applications.store import metadata
from applications.surveys import store as surveys_store  # noqa: F401
from mpp_shared.db import run_migrations

run_migrations(metadata)
