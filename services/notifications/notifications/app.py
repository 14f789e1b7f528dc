"""The notifications service: messages for every event that concerns a citizen (e-mail, SMS,
WhatsApp, Web Push, the in-app inbox) with delivery tracking, and partners' signed webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from pymongo.errors import PyMongoError

from mpp_shared import runtime, web
from mpp_shared.kafka import Handler
from mpp_shared.runtime import Database, Runtime
from notifications import api, consumers, messages
from notifications.settings import Settings
from notifications.templates import api as templates_api
from notifications.templates import service as templates
from notifications.webhooks import api as webhooks_api
from notifications.webhooks import deliveries as webhooks
from notifications.webhooks import store as webhooks_store

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The notifications API; the lifespan follows the events, sends messages and webhooks."""
    settings = settings or Settings()
    due = asyncio.Event()

    def handlers(db: Database) -> dict[str, Handler]:
        return consumers.handlers(db, settings, due.set)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            httpx.AsyncClient(follow_redirects=False) as http,
            runtime.run(
                settings,
                indexes=messages.INDEXES | webhooks_store.INDEXES,
                outbox_collections=[messages.MESSAGES],
                consumes=consumers.CONSUMED,
                handlers=handlers,
            ) as running,
        ):
            await templates.ensure_defaults(running.db)
            sender = messages.Sender(running.db, settings, http)
            app.state.runtime = running
            app.state.sender = sender
            app.state.http = http
            work = asyncio.create_task(send_forever(running, settings, sender, http, due))
            try:
                yield
            finally:
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work

    app = web.create_app(
        settings,
        title="MPP Elektronik — notifications",
        description="Messages to citizens on every channel, with delivery tracking; partners' "
        "webhooks.",
        lifespan=lifespan,
    )
    for router in (api.router, templates_api.router, webhooks_api.router):
        app.include_router(router)
    return app


async def send_forever(
    running: Runtime,
    settings: Settings,
    sender: messages.Sender,
    http: httpx.AsyncClient,
    due: asyncio.Event,
) -> None:
    """Send due messages and webhook deliveries: at once when woken, else every poll."""
    while True:
        due.clear()
        try:
            now = datetime.now(UTC)
            sent = await sender.deliver_due(now)
            sent += await webhooks.deliver_due(running.db, settings, http, now=now)
            if sent:
                running.wake_relay()
        except PyMongoError as exc:
            log.warning("sending: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(due.wait(), settings.delivery_poll_seconds)
