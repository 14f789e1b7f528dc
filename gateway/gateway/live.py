"""The command center's live figures: one server-sent-events stream for staff.

Every few seconds the gateway asks the services for their figures with the caller's own token
(so an officer sees what their role lets them see), reads the event pipeline's health from Kafka,
and sends a `figures` event when anything but the time has changed. A part that cannot be read is
null, with a short reason in `errors`; the stream goes on. It ends when the client goes away, or
with an `end` event when the caller's token expires or their session ends (the client then
reconnects with a fresh token).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent

from gateway import routing
from gateway.guard import Guard
from gateway.pipeline import PipelineHealth, PipelineProbe
from gateway.settings import Settings
from mpp_shared.auth import Principal
from mpp_shared.problems import Problem

log = logging.getLogger(__name__)

# Each part's path at its service: the same path as the public API's (routing.forward).
PARTS = {
    "applications": "/api/v1/ops/summary",
    "ikm": "/api/v1/ops/ikm",
    "deliveries": "/api/v1/notifications/ops/deliveries",
}
PART_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 15


class Figures(BaseModel):
    """One `figures` event: each part as its service answers it, or null and why in `errors`."""

    at: dt.datetime
    applications: dict[str, Any] | None
    ikm: dict[str, Any] | None
    deliveries: dict[str, Any] | None
    pipeline: PipelineHealth | None
    errors: dict[str, str]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One pipeline probe (its Kafka clients) for the app's lifetime."""
    probe = PipelineProbe(app.state.settings)
    app.state.pipeline = probe
    try:
        yield
    finally:
        await probe.close()


router = APIRouter(tags=["ops"], lifespan=lifespan)


@router.get(
    "/api/v1/ops/live",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`figures` events (JSON) when the figures change; a keep-alive "
            "comment every 15 s; an `end` event when the token expires or the session ends.",
            "content": {"text/event-stream": {}},
        }
    },
)
async def live(request: Request) -> EventSourceResponse:
    """The command center's figures as server-sent events (staff only)."""
    guard: Guard = request.app.state.guard
    caller, token = await guard.authenticate(request)
    if caller is None or token is None:
        raise Problem(
            401,
            "unauthorized",
            detail={
                "id": "Silakan masuk terlebih dahulu.",
                "en": "Please sign in first.",
            },
            headers={"WWW-Authenticate": "Bearer"},
        )
    guard.authorize(request, caller, "ops")  # staff only, as for every /api/v1/ops call
    return EventSourceResponse(
        _events(request, caller, token),
        ping=KEEP_ALIVE_SECONDS,
        headers={"Cache-Control": "no-store"},
    )


async def _events(
    request: Request, caller: Principal, token: str
) -> AsyncIterator[ServerSentEvent]:
    settings: Settings = request.app.state.settings
    guard: Guard = request.app.state.guard
    shown: dict[str, Any] | None = None
    while True:
        ended = await _ended(guard, caller, token)
        if ended:
            yield ServerSentEvent(json.dumps({"reason": ended}), event="end")
            return
        figures = await gather(request, token)
        comparable = without_times(figures)
        if comparable != shown:
            shown = comparable
            yield ServerSentEvent(figures.model_dump_json(), event="figures")
        await asyncio.sleep(settings.ops_live_interval)


async def _ended(guard: Guard, caller: Principal, token: str) -> str | None:
    """Why the stream must end now, if it must."""
    try:
        guard.identity.issuer.verify(token)
    except Problem:
        return "token-expired"
    if caller.session and not await guard.session_valid(caller.session):
        return "session-ended"
    return None


async def gather(request: Request, token: str) -> Figures:
    """Every part at once; what fails is null, with why."""
    names = list(PARTS)
    parts = asyncio.gather(*(_part(request, PARTS[name], token) for name in names))
    answers, (pipeline, pipeline_error) = await asyncio.gather(parts, _pipeline(request))
    errors: dict[str, str] = {}
    values: dict[str, dict[str, Any] | None] = {}
    for name, (value, error) in zip(names, answers, strict=True):
        values[name] = value
        if error:
            errors[name] = error
    if pipeline_error:
        errors["pipeline"] = pipeline_error
    return Figures(
        at=dt.datetime.now(dt.UTC),
        applications=values["applications"],
        ikm=values["ikm"],
        deliveries=values["deliveries"],
        pipeline=pipeline,
        errors=errors,
    )


async def _pipeline(request: Request) -> tuple[PipelineHealth | None, str | None]:
    """The pipeline's health, or why not."""
    probe: PipelineProbe = request.app.state.pipeline
    try:
        health = await probe.read()
    except Exception as exc:  # a bug in one part must not end everyone's stream
        log.exception("pipeline health")
        return None, f"failed: {type(exc).__name__}"
    if not health.available:
        return None, health.reason or "unavailable"
    return health, None


async def _part(
    request: Request, path: str, token: str
) -> tuple[dict[str, Any] | None, str | None]:
    """One service's figures as it answers them, or why not."""
    settings: Settings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.upstream
    service = routing.service_for(path)
    assert service is not None, path
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Accept-Language": request.headers.get("accept-language", "id"),
        "X-Request-Id": request.state.request_id,
    }
    timeout = httpx.Timeout(PART_SECONDS, connect=settings.upstream_connect_timeout)
    try:
        response = await client.get(
            settings.upstreams()[service] + path, headers=headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        return None, f"{service} unavailable: {type(exc).__name__}"
    except Exception as exc:  # a bug in one part must not end everyone's stream
        log.exception("figures from %s", service)
        return None, f"{service} failed: {type(exc).__name__}"
    if response.status_code != 200:
        return None, f"{service} answered {response.status_code}{_title(response)}"
    try:
        body = response.json()
    except ValueError:
        return None, f"{service} answered something other than JSON"
    if not isinstance(body, dict):
        return None, f"{service} answered something other than an object"
    return body, None


def _title(response: httpx.Response) -> str:
    """A problem's title, if the answer is one."""
    try:
        title = response.json().get("title")
    except (ValueError, AttributeError):
        return ""
    return f": {title}" if isinstance(title, str) else ""


def without_times(figures: Figures) -> dict[str, Any]:
    """The figures without the moments they were read at, to tell whether anything changed."""
    dumped = figures.model_dump(mode="json", exclude={"at"})
    return {
        name: {k: v for k, v in part.items() if k != "at"} if isinstance(part, dict) else part
        for name, part in dumped.items()
    }
