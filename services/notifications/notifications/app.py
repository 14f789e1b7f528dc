"""The notifications service: for now, one-time codes by SMS (templates, channels, inbox and
partner webhooks are still to come)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from mpp_shared import runtime, topics, web
from notifications import consumers
from notifications.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The notifications API; the lifespan opens its store and starts its consumer."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime.run(
            settings,
            consumes=[topics.IDENTITY_OTP],
            handlers=lambda db: {"identity.otp.requested.v1": consumers.otp_handler(settings, db)},
        ) as running:
            app.state.runtime = running
            yield

    return web.create_app(
        settings,
        title="MPP Elektronik — notifications",
        description="The notifications service of MPP Elektronik.",
        lifespan=lifespan,
    )
