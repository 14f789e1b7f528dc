"""The documents service: citizens' uploads (checked, private), issued outputs and their public
verification. It learns from the catalog's, identity's and applications' events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from minio import Minio
from sqlalchemy.exc import DBAPIError

from documents import api, consumers, service
from documents.settings import Settings
from mpp_shared import blobs, runtime, topics, web
from mpp_shared.kafka import DirectPublisher
from mpp_shared.read_audit import ReadAudit
from mpp_shared.runtime import Runtime
from mpp_shared.supervisor import Heartbeat

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The documents API; the lifespan opens its store and bucket, follows other services'
    events and cleans uploads never attached."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s3 = blobs.create_s3(settings)
        # PINs are secrets: published now on their short-lived topic, never via the outbox.
        pins = DirectPublisher(settings, topics.DOCUMENTS_PINS)
        async with runtime.run(
            settings,
            migrations="documents.migrations",
            consumes=consumers.CONSUMED,
            produces=[topics.DOCUMENTS_PINS],
            handlers=consumers.handlers(s3, settings, pins),
            checks={"blobs": lambda: blobs.check(s3)},
        ) as running:
            app.state.runtime = running
            app.state.s3 = s3
            app.state.pins = pins
            try:
                await blobs.ensure_bucket(s3, settings.bucket_name)
            except Exception as exc:  # S3 away: /ready says so until it is back
                log.warning("bucket %s not ensured: %s", settings.bucket_name, exc)
            cleaner = running.supervisor.start(
                "clean-up",
                lambda heartbeat: clean_forever(running, s3, settings, heartbeat),
                stale_after=3 * settings.cleanup_interval_seconds,
            )
            try:
                yield
            finally:
                cleaner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await cleaner
                await pins.close()

    app = web.create_app(
        settings,
        title="MPP Elektronik — dokumen",
        description="Citizens' documents and the mall's issued outputs.",
        lifespan=lifespan,
    )
    app.include_router(api.router)
    app.add_middleware(ReadAudit, service_name="documents", segments=("documents",))
    return app


async def clean_forever(
    running: Runtime, s3: Minio, settings: Settings, heartbeat: Heartbeat
) -> None:
    """Remove uploads never attached, every `cleanup_interval_seconds`."""
    while True:
        try:
            await service.clean_unattached(
                running.engine, s3, settings=settings, now=datetime.now(UTC)
            )
            heartbeat.beat()
        except (DBAPIError, OSError) as exc:
            log.warning("clean-up: %s", exc)
        await asyncio.sleep(settings.cleanup_interval_seconds)
