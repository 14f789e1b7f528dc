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
from sqlalchemy.exc import SQLAlchemyError

from mpp_shared import runtime, web
from mpp_shared.runtime import Runtime
from mpp_shared.supervisor import Heartbeat
from notifications import api, consumers, messages
from notifications.settings import Settings
from notifications.templates import api as templates_api
from notifications.templates import service as templates
from notifications.webhooks import api as webhooks_api
from notifications.webhooks import deliveries as webhooks

log = logging.getLogger(__name__)

STOP_SECONDS = 15


def create_app(settings: Settings | None = None) -> FastAPI:
    """The notifications API; the lifespan follows the events, sends messages and webhooks."""
    settings = settings or Settings()
    due = asyncio.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            httpx.AsyncClient(follow_redirects=False) as http,
            runtime.run(
                settings,
                migrations="notifications.migrations",
                consumes=consumers.CONSUMED,
                handlers=consumers.handlers(settings, due.set),
            ) as running,
        ):
            await templates.ensure_defaults(running.engine)
            sender = messages.Sender(running.engine, settings, http)
            app.state.runtime = running
            app.state.sender = sender
            app.state.http = http
            stopping = asyncio.Event()
            work = running.supervisor.start(
                "sending",
                lambda heartbeat: send_forever(
                    running, settings, sender, http, due, stopping, heartbeat
                ),
                stale_after=max(60.0, 10 * settings.delivery_poll_seconds),
            )
            try:
                yield
            finally:
                # Asked to stop, the loop finishes the round in hand. A cancel that landed in a
                # database call could be taken for a database error by the loop, which then went
                # on: the service never stopped.
                stopping.set()
                due.set()
                try:
                    await asyncio.wait_for(work, STOP_SECONDS)
                except TimeoutError:
                    log.warning("sending did not stop within %d s: cancelled", STOP_SECONDS)
                await sender.close()

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
    stopping: asyncio.Event,
    heartbeat: Heartbeat,
) -> None:
    """Send due messages and webhook deliveries: at once when woken, else every poll; until
    `stopping` is set."""
    while not stopping.is_set():
        due.clear()
        try:
            now = datetime.now(UTC)
            # The events of finished messages are in the outbox; its relay is woken at commit.
            await sender.deliver_due(now)
            await webhooks.deliver_due(running.engine, settings, http, now=now)
            heartbeat.beat()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("sending: %s", exc)
        if stopping.is_set():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(due.wait(), settings.delivery_poll_seconds)
