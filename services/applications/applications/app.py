"""The applications service: its running skeleton (store, health, metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from applications.settings import Settings
from mpp_shared import runtime, web


def create_app(settings: Settings | None = None) -> FastAPI:
    """The applications API; the lifespan opens its store."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.run(settings) as running:
            app.state.runtime = running
            yield

    return web.create_app(
        settings,
        title="MPP Elektronik — applications",
        description="The applications service of MPP Elektronik.",
        lifespan=lifespan,
    )
