"""The migrations make exactly the tables the store declares."""

from __future__ import annotations

from mpp_shared.testing import Databases, migration_drift
from notifications import store

from ..conftest import MIGRATIONS, notifications_settings


async def test_the_migrations_make_every_table_the_store_declares(
    postgres: Databases, namespace: str
) -> None:
    settings = notifications_settings(
        namespace, service_name="notifications_drift", postgres_user="mpp_notifications"
    )
    await postgres.create(settings)
    assert await migration_drift(settings, MIGRATIONS, store.tables()) == []
