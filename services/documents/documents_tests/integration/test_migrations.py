"""The migrations make exactly the tables the store declares."""

from __future__ import annotations

from typing import Any

from documents import store
from documents.settings import Settings
from mpp_shared.testing import migration_drift


async def test_the_migrations_make_every_table_the_store_declares(
    settings: Settings, postgres: Any
) -> None:
    assert await migration_drift(settings, "documents.migrations", store.metadata) == []
