"""Routes of complaints: file, list, read, the four actions, and the public tracking page."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from applications.complaints import service, store
from applications.complaints.models import (
    ACTIONS,
    FORWARDED,
    RECEIVED,
    STATES,
    CloseInput,
    Coded,
    Complaint,
    ComplaintInput,
    ComplaintList,
    ComplaintSummary,
    ComplaintTracking,
    ForwardInput,
    MessageInput,
    TimelineLine,
    TrackStep,
)
from applications.deps import CalendarDep, SettingsDep, not_found
from mpp_shared import pagination
from mpp_shared.auth import CurrentPrincipal, Principal, require
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


def _view(complaint: dict[str, Any], caller: Principal) -> Complaint:
    staff = caller.role != "citizen"
    return Complaint(
        id=complaint["_id"],
        tracking_id=complaint["tracking_id"],
        state=_state(complaint["state"]),
        citizen_id=complaint["citizen_id"],
        application_id=complaint.get("application_id"),
        agency=complaint.get("agency"),
        subject=complaint["subject"],
        description=complaint["description"],
        category=complaint.get("category"),
        filed_at=complaint["filed_at"],
        updated_at=complaint["updated_at"],
        due_at=complaint.get("due_at"),
        overdue=service.overdue(complaint, dt.datetime.now(dt.UTC)),
        closes_at=complaint.get("closes_at"),
        closed_at=complaint.get("closed_at"),
        actions=[_action(a) for a in service.allowed_actions(caller, complaint)],
        timeline=[
            TimelineLine(
                at=line["at"],
                action=_action(line["action"]),
                actor_role=line["actor_role"],
                actor=line["actor"] if staff else None,
                state=_state(line["state"]),
                message=line.get("message"),
            )
            for line in complaint["timeline"]
        ],
    )


def _summary(complaint: dict[str, Any], now: dt.datetime) -> ComplaintSummary:
    return ComplaintSummary(
        id=complaint["_id"],
        tracking_id=complaint["tracking_id"],
        state=_state(complaint["state"]),
        agency=complaint.get("agency"),
        application_id=complaint.get("application_id"),
        subject=complaint["subject"],
        category=complaint.get("category"),
        filed_at=complaint["filed_at"],
        updated_at=complaint["updated_at"],
        due_at=complaint.get("due_at"),
        overdue=service.overdue(complaint, now),
        closes_at=complaint.get("closes_at"),
    )


def _order(complaint: dict[str, Any]) -> str:
    """Newest first, then by id: a stable order the cursor resumes in."""
    return f"{complaint['filed_at'].strftime('%Y%m%d%H%M%S%f')}|{complaint['_id']}"


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
        rt.db,
        settings=settings,
        calendar=calendar,
        caller=caller,
        complaint=complaint,
        idempotency_key=idempotency_key,
    )
    if created:
        rt.wake_relay()
    else:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/complaints/{filed['_id']}"
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
    found = await store.listed(rt.db, service.list_query(caller, agency=agency))
    now = dt.datetime.now(dt.UTC)
    open_ones = [c for c in found if c["open"]]
    overdue = Counter(c["state"] for c in open_ones if service.overdue(c, now))
    ordered = sorted(
        (c for c in found if state is None or c["state"] == state), key=_order, reverse=True
    )
    resume = pagination.decode_cursor(cursor)
    rest = [c for c in ordered if resume is None or _order(c) < resume]
    shown = rest[:limit]
    return ComplaintList(
        open=len(open_ones),
        by_state=dict(Counter(c["state"] for c in found)),
        overdue_forward=overdue[RECEIVED],
        overdue_response=overdue[FORWARDED],
        items=[_summary(c, now) for c in shown],
        next_cursor=pagination.encode_cursor(_order(shown[-1])) if len(rest) > limit else None,
    )


@router.get("/complaints/{complaint_id}")
async def read(rt: RuntimeDep, caller: CurrentPrincipal, complaint_id: str) -> Complaint:
    """One complaint with its timeline and the actions the caller may take now."""
    complaint = await service.load_visible(rt.db, caller=caller, complaint_id=complaint_id)
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
    complaint = await service.forward(
        rt.db,
        calendar=calendar,
        caller=caller,
        complaint_id=complaint_id,
        agency=body.agency,
        message=body.message,
    )
    rt.wake_relay()
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
    complaint = await service.respond(
        rt.db, calendar=calendar, caller=caller, complaint_id=complaint_id, message=body.message
    )
    rt.wake_relay()
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
    complaint = await service.reply(
        rt.db, calendar=calendar, caller=caller, complaint_id=complaint_id, message=body.message
    )
    rt.wake_relay()
    return _view(complaint, caller)


@router.post("/complaints/{complaint_id}/close")
async def close(
    rt: RuntimeDep, caller: CurrentPrincipal, complaint_id: str, body: CloseInput | None = None
) -> Complaint:
    """Close the complaint (the citizen, or the mall's administrators saying why)."""
    complaint = await service.close(
        rt.db, caller=caller, complaint_id=complaint_id, message=(body or CloseInput()).message
    )
    rt.wake_relay()
    return _view(complaint, caller)


@router.get("/track/complaints/{tracking_id}")
async def track(rt: RuntimeDep, tracking_id: str) -> ComplaintTracking:
    """Anyone with the tracking id sees the complaint's progress, never its content or names."""
    complaint = await service.by_tracking_id(rt.db, tracking_id)
    if complaint is None:
        raise not_found()
    return ComplaintTracking(
        tracking_id=complaint["tracking_id"],
        state=_state(complaint["state"]),
        agency=complaint.get("agency"),
        filed_at=complaint["filed_at"],
        updated_at=complaint["updated_at"],
        due_at=complaint.get("due_at"),
        timeline=[
            TrackStep(at=line["at"], action=_action(line["action"]), state=_state(line["state"]))
            for line in complaint["timeline"]
        ],
    )
