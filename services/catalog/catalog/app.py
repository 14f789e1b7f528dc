"""The catalog service: agencies and the services they offer, with their service standards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from catalog import api, consumers
from catalog.search_cache import SearchCache
from catalog.settings import Settings
from mpp_shared import runtime, web


def create_app(settings: Settings | None = None) -> FastAPI:
    """The catalog's API; the lifespan opens its store, starts its outbox relay and counts the
    applications each service receives."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.run(
            settings,
            migrations="catalog.migrations",
            consumes=consumers.CONSUMED,
            handlers=consumers.handlers(),
            # Every application adds to its service's count of the day: partitions applied side
            # by side would queue on those rows' locks.
            partitions_side_by_side=False,
        ) as running:
            app.state.runtime = running
            yield

    app = web.create_app(
        settings,
        title="MPP Elektronik — katalog layanan",
        description="Agencies of the mall and the services they offer.",
        lifespan=lifespan,
    )
    app.state.search = SearchCache()
    app.include_router(api.router)
    return app
