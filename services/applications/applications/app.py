"""The applications service: applications and their workflow under SLA clocks, counter bookings,
satisfaction surveys and complaints. It reads the catalog and documents only from their events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from applications import (
    answers,
    api,
    catalog_view,
    citizens_view,
    clocks,
    documents_view,
    numbers,
    outputs_view,
    service,
)
from applications.bookings import api as bookings_api
from applications.complaints import api as complaints_api
from applications.complaints import clocks as complaint_clocks
from applications.settings import Settings
from applications.surveys import api as surveys_api
from applications.workdays import WorkingCalendar
from mpp_shared import runtime, topics, web
from mpp_shared.read_audit import ReadAudit
from mpp_shared.runtime import Runtime
from mpp_shared.supervisor import Heartbeat

MIGRATIONS = "applications.migrations"
# The catalog's services, documents' checks and issued outputs, applicants' names (for officers).
CONSUMED = [topics.CATALOG, topics.DOCUMENTS, topics.IDENTITY]
HANDLERS = (
    catalog_view.HANDLERS | documents_view.HANDLERS | outputs_view.HANDLERS | citizens_view.HANDLERS
)

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The applications API; the lifespan opens its store, follows the catalog's and documents'
    events and runs the SLA and complaint clocks."""
    settings = settings or Settings()
    calendar = WorkingCalendar(settings.timezone)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The holidays package computes a year's dates on first use, seconds on a busy machine:
        # here rather than inside the first citizen's submission.
        await asyncio.to_thread(calendar.learn_holidays)
        async with runtime.run(
            settings,
            migrations=MIGRATIONS,
            consumes=CONSUMED,
            handlers=HANDLERS,
        ) as running:
            app.state.runtime = running
            app.state.calendar = calendar
            app.state.figures = service.Figures(settings.summary_max_age_seconds)
            app.state.code_guesses = numbers.CodeGuesses()  # of the public tracking pages
            ticking = running.supervisor.start(
                "clocks",
                lambda heartbeat: run_clocks(running, settings, calendar, heartbeat),
                stale_after=3 * settings.clock_check_seconds,
            )
            try:
                yield
            finally:
                ticking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticking

    app = web.create_app(
        settings,
        title="MPP Elektronik — applications",
        description="Applications, their workflow and SLA clocks, counter bookings, satisfaction "
        "surveys and complaints.",
        lifespan=lifespan,
    )
    for router in (api.router, bookings_api.router, surveys_api.router, complaints_api.router):
        app.include_router(router)
    app.add_middleware(
        ReadAudit, service_name="applications", segments=("applications", "complaints", "bookings")
    )
    return app


async def run_clocks(
    running: Runtime, settings: Settings, calendar: WorkingCalendar, heartbeat: Heartbeat
) -> None:
    """Check the SLA and complaint clocks every `clock_check_seconds`, for as long as we run."""
    while True:
        now = datetime.now(UTC)
        try:
            await clocks.check_clocks(
                running.engine,
                calendar=calendar,
                now=now,
                output_vault=answers.output_vault_of(settings),
            )
            await complaint_clocks.check_clocks(running.engine, calendar=calendar, now=now)
            heartbeat.beat()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("clock check: %s", exc)
        await asyncio.sleep(settings.clock_check_seconds)
