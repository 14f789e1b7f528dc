"""Routes of complaints: file, list, read, the four actions, and the public tracking page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from applications.complaints import service, workflow
from applications.complaints.models import (
    ACTIONS,
    STATES,
    CloseInput,
    Coded,
    Complaint,
    ComplaintInput,
    ComplaintList,
    ComplaintRecord,
    ComplaintSummary,
    ComplaintTracking,
    ForwardInput,
    MessageInput,
    StoredComplaint,
    TimelineLine,
    TrackStep,
)
from applications.deps import UNTRACKED, CalendarDep, CheckCode, GuessesDep, SettingsDep
from mpp_shared import pagination
from mpp_shared.auth import CurrentPrincipal, OptionalPrincipal, Principal, require
from mpp_shared.idempotency import IdempotencyKey
from mpp_shared.web import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["complaints"])

Citizen = Annotated[Principal, require("citizen")]
Reader = Annotated[
    Principal, require("citizen", "officer", "agency_admin", "mpp_admin", "ops_viewer")
]


def _state(code: str) -> Coded:
    return Coded(code=code, label=STATES[code])


def _action(code: str) -> Coded:
    return Coded(code=code, label=ACTIONS[code])


def _view(complaint: StoredComplaint, caller: Principal) -> Complaint:
    staff = caller.role != "citizen"
    return Complaint(
        id=complaint.id,
        tracking_id=complaint.tracking_id,
        check_code=complaint.check_code,
        state=_state(complaint.state),
        citizen_id=complaint.citizen_id,
        application_id=complaint.application_id,
        agency=complaint.agency,
        subject=complaint.subject,
        description=complaint.description,
        category=complaint.category,
        filed_at=complaint.filed_at,
        updated_at=complaint.updated_at,
        due_at=complaint.due_at,
        overdue=service.overdue(complaint, dt.datetime.now(dt.UTC)),
        closes_at=complaint.closes_at,
        closed_at=complaint.closed_at,
        actions=[_action(a) for a in service.allowed_actions(caller, complaint)],
        timeline=[
            TimelineLine(
                at=line.at,
                action=_action(line.action),
                actor_role=line.actor_role,
                actor=line.actor if staff else None,
                state=_state(line.state),
                message=line.message,
            )
            for line in complaint.timeline
        ],
    )


def _summary(complaint: ComplaintRecord, now: dt.datetime) -> ComplaintSummary:
    return ComplaintSummary(
        id=complaint.id,
        tracking_id=complaint.tracking_id,
        state=_state(complaint.state),
        agency=complaint.agency,
        application_id=complaint.application_id,
        subject=complaint.subject,
        category=complaint.category,
        filed_at=complaint.filed_at,
        updated_at=complaint.updated_at,
        due_at=complaint.due_at,
        overdue=service.overdue(complaint, now),
        closes_at=complaint.closes_at,
    )


@router.post("/complaints", status_code=201)
async def file(
    rt: RuntimeDep,
    settings: SettingsDep,
    calendar: CalendarDep,
    caller: Citizen,
    complaint: ComplaintInput,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Complaint:
    """File a complaint (SP4N-LAPOR!): forwarded to the agency in 3 working days, answered in 5."""
    filed, created = await service.file(
        rt.engine,
        settings=settings,
        calendar=calendar,
        caller=caller,
        complaint=complaint,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/complaints/{filed.id}"
    return _view(filed, caller)


@router.get("/complaints")
async def complaints(
    rt: RuntimeDep,
    caller: Reader,
    state: Annotated[str | None, Query(description="Only complaints in this state")] = None,
    agency: Annotated[str | None, Query(description="Mall-wide roles: one agency")] = None,
    limit: pagination.Limit = 20,
    cursor: pagination.Cursor = None,
) -> ComplaintList:
    """A citizen's own complaints, an agency's forwarded ones, or all for the mall's staff;
    newest first, with the counts of open and overdue ones."""
    now = dt.datetime.now(dt.UTC)
    counts, found = await service.listed(
        rt.engine,
        caller=caller,
        agency=agency,
        state=state,
        cursor=cursor,
        limit=limit,
        now=now,
    )
    page = pagination.keyset_page(
        [_summary(c, now) for c in found], limit=limit, key=lambda c: (c.filed_at, c.id)
    )
    return ComplaintList(
        open=counts.open,
        by_state=counts.by_state,
        overdue_forward=counts.overdue_forward,
        overdue_response=counts.overdue_response,
        items=page.items,
        next_cursor=page.next_cursor,
    )


@router.get("/complaints/{complaint_id}")
async def read(rt: RuntimeDep, caller: CurrentPrincipal, complaint_id: str) -> Complaint:
    """One complaint with its timeline and the actions the caller may take now."""
    complaint = await service.read(rt.engine, caller=caller, complaint_id=complaint_id)
    return _view(complaint, caller)


@router.post("/complaints/{complaint_id}/forward")
async def forward(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: CurrentPrincipal,
    complaint_id: str,
    body: ForwardInput | None = None,
) -> Complaint:
    """Verify the complaint and forward it to the agency (the mall's administrators)."""
    body = body or ForwardInput()
    complaint = await workflow.forward(
        rt.engine,
        calendar=calendar,
        caller=caller,
        complaint_id=complaint_id,
        agency=body.agency,
        message=body.message,
    )
    return _view(complaint, caller)


@router.post("/complaints/{complaint_id}/respond")
async def respond(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: CurrentPrincipal,
    complaint_id: str,
    body: MessageInput,
) -> Complaint:
    """Answer the complaint (the agency's officers and administrators)."""
    complaint = await workflow.respond(
        rt.engine, calendar=calendar, caller=caller, complaint_id=complaint_id, message=body.message
    )
    return _view(complaint, caller)


@router.post("/complaints/{complaint_id}/reply")
async def reply(
    rt: RuntimeDep,
    calendar: CalendarDep,
    caller: CurrentPrincipal,
    complaint_id: str,
    body: MessageInput,
) -> Complaint:
    """Reply to the agency's answer (the citizen): the agency answers again."""
    complaint = await workflow.reply(
        rt.engine, calendar=calendar, caller=caller, complaint_id=complaint_id, message=body.message
    )
    return _view(complaint, caller)


@router.post("/complaints/{complaint_id}/close")
async def close(
    rt: RuntimeDep, caller: CurrentPrincipal, complaint_id: str, body: CloseInput | None = None
) -> Complaint:
    """Close the complaint (the citizen, or the mall's administrators saying why)."""
    complaint = await workflow.close(
        rt.engine, caller=caller, complaint_id=complaint_id, message=(body or CloseInput()).message
    )
    return _view(complaint, caller)


@router.get("/track/complaints/{tracking_id}", responses={404: {"description": UNTRACKED}})
async def track(
    rt: RuntimeDep,
    guesses: GuessesDep,
    caller: OptionalPrincipal,
    tracking_id: str,
    code: CheckCode = None,
) -> ComplaintTracking:
    """Whoever has the tracking id and its check code sees the complaint's progress, never its
    content or names (an unknown id and a wrong code are the same 404)."""
    complaint = await service.tracked(
        rt.engine, guesses=guesses, caller=caller, tracking_id=tracking_id, code=code
    )
    return ComplaintTracking(
        tracking_id=complaint.tracking_id,
        state=_state(complaint.state),
        agency=complaint.agency,
        filed_at=complaint.filed_at,
        updated_at=complaint.updated_at,
        due_at=complaint.due_at,
        timeline=[
            TrackStep(at=line.at, action=_action(line.action), state=_state(line.state))
            for line in complaint.timeline
        ],
    )
