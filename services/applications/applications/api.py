"""Routes of applications: submit, list, read, act; the officer's inbox; the public tracking page;
the command center's figures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from applications import answers, outputs_view, revisions, service, store, workflow
from applications.deps import UNTRACKED, CalendarDep, CheckCode, GuessesDep, SettingsDep
from applications.models import (
    Action,
    ActionInput,
    AgencyFigures,
    Application,
    ApplicationRecord,
    ApplicationSummary,
    Inbox,
    OutputLink,
    State,
    StoredApplication,
    Submission,
    Summary,
    Tracking,
    TrackStep,
)
from applications.workdays import WorkingCalendar
from mpp_shared import pagination
from mpp_shared.auth import CurrentPrincipal, OptionalPrincipal, Principal, require
from mpp_shared.contracts.catalog import ServicePublished
from mpp_shared.idempotency import IdempotencyKey
from mpp_shared.pii import Vault
from mpp_shared.web import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["applications"])

Citizen = Annotated[Principal, require("citizen")]
Staff = Annotated[Principal, require("officer", "agency_admin", "mpp_admin", "ops_viewer")]


def _state(published: ServicePublished, code: str) -> State:
    assert published.workflow is not None
    found = service.state_of(published.workflow, code)
    return State(code=found.code, label=found.label, terminal=found.terminal)


def _view(
    application: StoredApplication,
    published: ServicePublished,
    caller: Principal,
    vault: Vault,
    applicant_name: str | None = None,
    output: outputs_view.IssuedOutput | None = None,
) -> Application:
    assert published.workflow is not None
    now = dt.datetime.now(dt.UTC)
    staff = caller.role != "citizen"
    return Application(
        id=application.id,
        tracking_number=application.tracking_number,
        check_code=application.check_code,
        service_id=application.service_id,
        service_slug=application.service_slug,
        service_version=application.service_version,
        service_name=published.name,
        agency=application.agency,
        citizen_id=application.citizen_id,
        applicant_name=applicant_name,
        state=_state(published, application.state),
        form=service.form_shown(application, published, caller, vault),
        documents=application.documents,
        submitted_at=application.submitted_at,
        updated_at=application.updated_at,
        due_at=application.overall_due_at if application.open else None,
        state_due_at=application.state_due_at,
        sla_paused=application.paused_at is not None,
        overdue=service.overdue(application, now),
        actions=[
            Action(code=a.code, label=a.label, requires_note=a.requires_note)
            for a in service.allowed_actions(published.workflow, application, caller)
        ],
        history=[
            line if staff else line.model_copy(update={"actor": None})
            for line in application.history
        ],
        revision=revisions.pending(application)
        if service.state_of(published.workflow, application.state).documents_replaceable
        else [],
        output=_output_link(output) if output else None,
    )


def _output_link(output: outputs_view.IssuedOutput) -> OutputLink:
    # Paths on the gateway, which serves the API and the citizen app's verification page.
    return OutputLink(
        output_id=output.output_id,
        verification_code=output.verification_code,
        status=output.status,
        issued_at=output.issued_at,
        download_url=f"/api/v1/documents/outputs/{output.output_id}/content",
        verify_url=f"/verify/{output.verification_code}",
    )


def _summary(
    application: ApplicationRecord,
    versions: service.Versions,
    calendar: WorkingCalendar,
    now: dt.datetime,
    applicant_name: str | None = None,
) -> ApplicationSummary:
    published = versions[(application.service_id, application.service_version)]
    return ApplicationSummary(
        id=application.id,
        tracking_number=application.tracking_number,
        service_slug=application.service_slug,
        service_name=published.name,
        agency=application.agency,
        applicant_name=applicant_name,
        state=_state(published, application.state),
        submitted_at=application.submitted_at,
        due_at=application.due_at,
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
        rt.engine,
        settings=settings,
        calendar=calendar,
        caller=caller,
        submission=submission,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/applications/{application.id}"
    published = await service.version_of(rt.engine, application)
    return _view(application, published, caller, answers.vault_of(settings))


@router.get("/applications")
async def my_applications(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: Citizen,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> pagination.Page[ApplicationSummary]:
    """The citizen's own applications, newest first."""
    found, versions = await service.of_citizen(rt.engine, caller=caller, cursor=cursor, limit=limit)
    now = dt.datetime.now(dt.UTC)
    items = [_summary(a, versions, calendar, now) for a in found]
    return pagination.keyset_page(items, limit=limit, key=lambda s: (s.submitted_at, s.id))


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
    now = dt.datetime.now(dt.UTC)
    counts, found, versions, names = await service.inbox(
        rt.engine,
        calendar=calendar,
        agency=agency,
        state=state,
        cursor=cursor,
        limit=limit,
        now=now,
        named=caller.role in service.NAMED,
    )
    page = pagination.keyset_page(
        [_summary(a, versions, calendar, now, names.get(a.citizen_id)) for a in found],
        limit=limit,
        key=lambda s: (s.due_at or store.NO_DEADLINE, s.id),
    )
    return Inbox(
        open=counts.open,
        nearing_due=counts.nearing_due,
        overdue=counts.overdue,
        by_state=counts.by_state,
        items=page.items,
        next_cursor=page.next_cursor,
    )


@router.get("/applications/{application_id}")
async def read(
    rt: RuntimeDep, settings: SettingsDep, caller: CurrentPrincipal, application_id: str
) -> Application:
    """One application with its timeline and the actions the caller may take now; sensitive
    form answers (NIKs) whole for the applicant and the handling agency's staff, else masked."""
    application, name = await service.read(rt.engine, caller=caller, application_id=application_id)
    published = await service.version_of(rt.engine, application)
    output = await outputs_view.output_of(rt.engine, application.id)
    return _view(application, published, caller, answers.vault_of(settings), name, output)


@router.post("/applications/{application_id}/actions/{action}")
async def act(
    rt: RuntimeDep,
    settings: SettingsDep,
    calendar: CalendarDep,
    caller: CurrentPrincipal,
    application_id: str,
    action: str,
    body: ActionInput | None = None,
) -> Application:
    """Take a workflow action (approve, request_revision, resubmit, cancel ...)."""
    application = await workflow.act(
        rt.engine,
        calendar=calendar,
        caller=caller,
        application_id=application_id,
        action_code=action,
        action=body or ActionInput(),
        form_vault=answers.vault_of(settings),
        output_vault=answers.output_vault_of(settings),
    )
    name = await service.applicant_name_of(rt.engine, caller=caller, application=application)
    published = await service.version_of(rt.engine, application)
    return _view(application, published, caller, answers.vault_of(settings), name)


@router.get("/track/{tracking_number}", responses={404: {"description": UNTRACKED}})
async def track(
    rt: RuntimeDep,
    guesses: GuessesDep,
    caller: OptionalPrincipal,
    tracking_number: str,
    code: CheckCode = None,
) -> Tracking:
    """Whoever has the tracking number and its check code sees the status, never personal data
    (an unknown number and a wrong code are the same 404)."""
    application, published = await service.tracked(
        rt.engine, guesses=guesses, caller=caller, tracking_number=tracking_number, code=code
    )
    return Tracking(
        tracking_number=application.tracking_number,
        service_name=published.name,
        agency=application.agency,
        state=_state(published, application.state),
        submitted_at=application.submitted_at,
        updated_at=application.updated_at,
        due_at=application.overall_due_at if application.open else None,
        timeline=[
            TrackStep(at=line.at, state=_state(published, line.to_state))
            for line in application.history
        ],
    )


@router.get("/ops/summary")
async def summary(
    rt: RuntimeDep, calendar: CalendarDep, caller: Staff, request: Request
) -> Summary:
    """The whole mall's figures: today, backlog, SLA compliance over 30 days, per agency (counted
    at most every `summary_max_age_seconds`; `at` says when)."""
    figures: service.Figures = request.app.state.figures
    now, agencies, by_state = await figures.get(rt.engine, calendar=calendar)
    done = sum(a.completed for a in agencies)
    on_time = sum(a.completed_on_time for a in agencies)
    return Summary(
        at=now,
        submitted_today=sum(a.submitted_today for a in agencies),
        open=sum(a.open for a in agencies),
        overdue=sum(a.overdue for a in agencies),
        by_state=by_state,
        sla_compliance_30d=round(on_time / done, 4) if done else None,
        agencies=[
            AgencyFigures(
                agency=a.agency,
                submitted_today=a.submitted_today,
                open=a.open,
                overdue=a.overdue,
                completed_30d=a.completed,
                completed_on_time_30d=a.completed_on_time,
            )
            for a in agencies
        ],
    )
