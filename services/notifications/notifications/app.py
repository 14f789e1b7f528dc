"""The notifications service: messages for every event that concerns a citizen (e-mail, SMS,
WhatsApp, Web Push, the in-app inbox) with delivery tracking, and partners' signed webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from mpp_shared import runtime, web
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
    # Two queues that never wait on each other, woken together: an event may plan both.
    messages_due, webhooks_due = asyncio.Event(), asyncio.Event()

    def wake() -> None:
        messages_due.set()
        webhooks_due.set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            httpx.AsyncClient(follow_redirects=False) as http,
            runtime.run(
                settings,
                migrations="notifications.migrations",
                consumes=consumers.CONSUMED,
                handlers=consumers.handlers(settings, wake),
            ) as running,
        ):
            await templates.ensure_defaults(running.engine)
            sender = messages.Sender(running.engine, settings, http)
            deliverer = webhooks.Deliverer(running.engine, settings, http)
            app.state.runtime = running
            app.state.sender = sender
            app.state.http = http
            stopping = asyncio.Event()
            poll = settings.delivery_poll_seconds
            stale_after = max(60.0, 10 * poll)
            work = [
                running.supervisor.start(
                    "sending",
                    lambda heartbeat: attempt_forever(
                        "sending", sender.start_due, messages_due, stopping, heartbeat, poll
                    ),
                    stale_after=stale_after,
                ),
                running.supervisor.start(
                    "webhooks",
                    lambda heartbeat: attempt_forever(
                        "webhooks", deliverer.start_due, webhooks_due, stopping, heartbeat, poll
                    ),
                    stale_after=stale_after,
                ),
            ]
            try:
                yield
            finally:
                # Asked to stop, each loop starts nothing more and waits for the attempts in
                # flight. A cancel that landed in a database call could be taken for a database
                # error by the loop, which then went on: the service never stopped.
                stopping.set()
                wake()
                try:
                    await asyncio.wait_for(asyncio.gather(*work), STOP_SECONDS)
                except TimeoutError:
                    log.warning("sending loops did not stop within %d s: cancelled", STOP_SECONDS)
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


StartDue = Callable[[asyncio.TaskGroup], Awaitable[Sequence[asyncio.Task[Any]]]]


async def attempt_forever(
    name: str,
    start_due: StartDue,
    due: asyncio.Event,
    stopping: asyncio.Event,
    heartbeat: Heartbeat,
    poll_seconds: float,
) -> None:
    """Start the attempts that are due as their slots free: at once when woken or when an
    attempt ends, else every poll; until `stopping` is set, then wait for those in flight."""
    async with asyncio.TaskGroup() as attempts:
        while not stopping.is_set():
            due.clear()
            started: Sequence[asyncio.Task[Any]] = ()
            try:
                # The events of finished messages are in the outbox; its relay is woken at commit.
                started = await start_due(attempts)
                heartbeat.beat()
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                log.warning("%s: %s", name, exc)
            for task in started:
                task.add_done_callback(lambda _: due.set())  # a slot is free again
            if stopping.is_set():
                break
            if started:
                continue  # more may be due than the free slots took
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(due.wait(), poll_seconds)
