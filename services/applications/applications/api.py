"""Routes of applications: submit, list, read, act; the officer's inbox; the public tracking page;
the command center's figures."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from applications import service, store
from applications.deps import CalendarDep, SettingsDep
from applications.models import (
    Action,
    ActionInput,
    AgencyFigures,
    Application,
    ApplicationSummary,
    HistoryLine,
    Inbox,
    State,
    Submission,
    Summary,
    Tracking,
    TrackStep,
)
from applications.workdays import WorkingCalendar
from mpp_shared import pagination
from mpp_shared.auth import CurrentPrincipal, Principal, require
from mpp_shared.contracts.catalog import ServicePublished
from mpp_shared.idempotency import IdempotencyKey
from mpp_shared.problems import Problem
from mpp_shared.web import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["applications"])

Citizen = Annotated[Principal, require("citizen")]
Staff = Annotated[Principal, require("officer", "agency_admin", "mpp_admin", "ops_viewer")]


class Versions:
    """Service versions looked up once per request."""

    def __init__(self, rt: Any) -> None:
        self.db = rt.db
        self.found: dict[tuple[str, int], ServicePublished] = {}

    async def of(self, application: dict[str, Any]) -> ServicePublished:
        key = (application["service_id"], application["service_version"])
        if key not in self.found:
            self.found[key] = await service.published_version(self.db, application)
        return self.found[key]


def _state(published: ServicePublished, code: str) -> State:
    assert published.workflow is not None
    found = service.state_of(published.workflow, code)
    return State(code=found.code, label=found.label, terminal=found.terminal)


def _view(
    application: dict[str, Any], published: ServicePublished, caller: Principal
) -> Application:
    assert published.workflow is not None
    now = dt.datetime.now(dt.UTC)
    staff = caller.role != "citizen"
    return Application(
        id=application["_id"],
        tracking_number=application["tracking_number"],
        service_id=application["service_id"],
        service_slug=application["service_slug"],
        service_version=application["service_version"],
        service_name=published.name,
        agency=application["agency"],
        citizen_id=application["citizen_id"],
        state=_state(published, application["state"]),
        form=json.loads(application["form_json"]),
        documents=application["documents"],
        submitted_at=application["submitted_at"],
        updated_at=application["updated_at"],
        due_at=application["overall_due_at"] if application["open"] else None,
        state_due_at=application.get("state_due_at"),
        sla_paused=application.get("paused_at") is not None,
        overdue=service.overdue(application, now),
        actions=[
            Action(code=a.code, label=a.label, requires_note=a.requires_note)
            for a in service.allowed_actions(published.workflow, application, caller)
        ],
        history=[
            HistoryLine.model_validate(line | ({} if staff else {"actor": None}))
            for line in application["history"]
        ],
    )


def _summary(
    application: dict[str, Any],
    published: ServicePublished,
    calendar: WorkingCalendar,
    now: dt.datetime,
) -> ApplicationSummary:
    return ApplicationSummary(
        id=application["_id"],
        tracking_number=application["tracking_number"],
        service_slug=application["service_slug"],
        service_name=published.name,
        agency=application["agency"],
        state=_state(published, application["state"]),
        submitted_at=application["submitted_at"],
        due_at=application.get("due_at"),
        overdue=service.overdue(application, now),
        nearing_due=service.nearing(application, calendar=calendar, now=now),
    )


@router.post("/applications", status_code=201)
async def submit(
    rt: RuntimeDep,
    settings: SettingsDep,
    calendar: CalendarDep,
    caller: Citizen,
    submission: Submission,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Application:
    """Apply for a service with the form and the required documents; answers the tracking number."""
    application, created = await service.submit(
        rt.db,
        settings=settings,
        calendar=calendar,
        caller=caller,
        submission=submission,
        idempotency_key=idempotency_key,
    )
    if created:
        rt.wake_relay()
    else:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/applications/{application['_id']}"
    return _view(application, await Versions(rt).of(application), caller)


@router.get("/applications")
async def my_applications(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: Citizen,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> pagination.Page[ApplicationSummary]:
    """The citizen's own applications, newest first."""
    found = await store.of_citizen(
        rt.db, caller.subject, before=pagination.decode_cursor(cursor), limit=limit
    )
    versions, now = Versions(rt), dt.datetime.now(dt.UTC)
    items = [_summary(a, await versions.of(a), calendar, now) for a in found]
    return pagination.page(items, limit=limit, key=lambda s: s.id)


@router.get("/applications/inbox")
async def inbox(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: Staff,
    agency: Annotated[str | None, Query(description="Mall-wide roles: one agency")] = None,
    state: Annotated[str | None, Query()] = None,
    limit: pagination.Limit = 50,
    cursor: pagination.Cursor = None,
) -> Inbox:
    """An agency's open applications, soonest deadline first, with counts near and past SLA."""
    if caller.role in service.STAFF:
        agency = caller.agency
    found = await store.open_of_agency(rt.db, agency)
    now = dt.datetime.now(dt.UTC)
    versions = Versions(rt)
    summaries = [_summary(a, await versions.of(a), calendar, now) for a in found]
    by_state = Counter(s.state.code for s in summaries)
    shown = [s for s in summaries if state is None or s.state.code == state]
    start = int(pagination.decode_cursor(cursor) or 0) if cursor else 0
    page = shown[start : start + limit]
    more = start + limit < len(shown)
    return Inbox(
        open=len(summaries),
        nearing_due=sum(s.nearing_due for s in summaries),
        overdue=sum(s.overdue for s in summaries),
        by_state=dict(by_state),
        items=page,
        next_cursor=pagination.encode_cursor(str(start + limit)) if more else None,
    )


@router.get("/applications/{application_id}")
async def read(rt: RuntimeDep, caller: CurrentPrincipal, application_id: str) -> Application:
    """One application with its timeline and the actions the caller may take now."""
    application = await service.load_visible(rt.db, caller=caller, application_id=application_id)
    return _view(application, await Versions(rt).of(application), caller)


@router.post("/applications/{application_id}/actions/{action}")
async def act(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: CurrentPrincipal,
    application_id: str,
    action: str,
    body: ActionInput | None = None,
) -> Application:
    """Take a workflow action (approve, request_revision, resubmit, cancel ...)."""
    application = await service.act(
        rt.db,
        calendar=calendar,
        caller=caller,
        application_id=application_id,
        action_code=action,
        action=body or ActionInput(),
    )
    rt.wake_relay()
    return _view(application, await Versions(rt).of(application), caller)


@router.get("/track/{tracking_number}")
async def track(rt: RuntimeDep, tracking_number: str) -> Tracking:
    """Anyone with the tracking number sees the status, never personal data."""
    application = await service.by_tracking_number(rt.db, tracking_number)
    if application is None:
        raise Problem(404, "not-found")
    published = await Versions(rt).of(application)
    return Tracking(
        tracking_number=application["tracking_number"],
        service_name=published.name,
        agency=application["agency"],
        state=_state(published, application["state"]),
        submitted_at=application["submitted_at"],
        updated_at=application["updated_at"],
        due_at=application["overall_due_at"] if application["open"] else None,
        timeline=[
            TrackStep(at=line["at"], state=_state(published, line["to_state"]))
            for line in application["history"]
        ],
    )


@router.get("/ops/summary")
async def summary(rt: RuntimeDep, calendar: CalendarDep, caller: Staff) -> Summary:
    """The whole mall's figures: today, backlog, SLA compliance over 30 days, per agency."""
    now = dt.datetime.now(dt.UTC)
    today = dt.datetime.combine(calendar.local_date(now), dt.time(), tzinfo=calendar.zone)
    since = now - dt.timedelta(days=30)
    found = await store.all_for_summary(rt.db, since=since)
    agencies: dict[str, dict[str, int]] = {}
    by_state: Counter[str] = Counter()
    for application in found:
        figures = agencies.setdefault(
            application["agency"],
            dict.fromkeys(("submitted_today", "open", "overdue", "done", "on_time"), 0),
        )
        if application["submitted_at"] >= today:
            figures["submitted_today"] += 1
        if application.get("open"):
            figures["open"] += 1
            by_state[application["state"]] += 1
            figures["overdue"] += service.overdue(application, now)
        completed = application.get("completed_at")
        if completed and completed >= since:
            figures["done"] += 1
            figures["on_time"] += completed <= application["overall_due_at"]
    done = sum(f["done"] for f in agencies.values())
    on_time = sum(f["on_time"] for f in agencies.values())
    return Summary(
        at=now,
        submitted_today=sum(f["submitted_today"] for f in agencies.values()),
        open=sum(f["open"] for f in agencies.values()),
        overdue=sum(f["overdue"] for f in agencies.values()),
        by_state=dict(by_state),
        sla_compliance_30d=round(on_time / done, 4) if done else None,
        agencies=[
            AgencyFigures(
                agency=code,
                submitted_today=f["submitted_today"],
                open=f["open"],
                overdue=f["overdue"],
                completed_30d=f["done"],
                completed_on_time_30d=f["on_time"],
            )
            for code, f in sorted(agencies.items())
        ],
    )
