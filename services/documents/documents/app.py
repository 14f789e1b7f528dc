"""The documents service: its running skeleton (store, bucket, health, metrics)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from documents.settings import Settings
from mpp_shared import blobs, runtime, web

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The documents API; the lifespan opens its store and its bucket."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s3 = blobs.create_s3(settings)
        async with runtime.run(settings, checks={"blobs": lambda: blobs.check(s3)}) as running:
            app.state.runtime = running
            app.state.s3 = s3
            try:
                await blobs.ensure_bucket(s3, settings.bucket_name)
            except Exception as exc:  # S3 away: /ready says so until it is back
                log.warning("bucket %s not ensured: %s", settings.bucket_name, exc)
            yield

    return web.create_app(
        settings,
        title="MPP Elektronik — dokumen",
        description="Citizens' documents and the mall's issued outputs.",
        lifespan=lifespan,
    )
