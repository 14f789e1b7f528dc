"""The complaint's steps: forwarded by the mall, answered by the agency, replied to by the
citizen, closed. Each step is one transaction guarded by the complaint's version: of two
concurrent steps exactly one wins, and the other is told so (409)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications.complaints import store
from applications.complaints.models import (
    ACTIONS,
    CLOSED,
    FORWARDED,
    RESPONDED,
    STATES,
    ComplaintRecord,
    StoredComplaint,
)
from applications.complaints.service import (
    AUTO_CLOSE_DAYS,
    RESPONSE_DAYS,
    SOURCES,
    allowed_actions,
    check_agency,
    event_of,
    facts_of,
    invalid,
    is_owner,
    line_of,
    load_visible,
    may_take,
    refusal,
    utc_now,
)
from applications.workdays import WorkingCalendar
from mpp_shared import db
from mpp_shared.auth import Principal
from mpp_shared.contracts.applications import (
    ComplaintClosed,
    ComplaintFacts,
    ComplaintForwarded,
    ComplaintReplied,
    ComplaintResponded,
)


async def forward(
    engine: AsyncEngine,
    *,
    calendar: WorkingCalendar,
    caller: Principal,
    complaint_id: str,
    agency: str | None,
    message: str | None,
) -> StoredComplaint:
    """The mall's administrator verified the complaint: forward it to the agency."""
    async with db.transaction(engine) as connection:
        complaint = await _load_for(
            connection, caller=caller, complaint_id=complaint_id, action="forward"
        )
        target = agency or complaint.agency
        if target is None:
            raise invalid(
                "agency",
                "Pilih instansi tujuan pengaduan ini.",
                "Name the agency this complaint goes to.",
            )
        if target != complaint.agency:
            await check_agency(connection, target)
        now = utc_now()
        response_due = calendar.add(now, RESPONSE_DAYS)
        fields = {
            "agency": target,
            "forwarded_at": now,
            "response_due_at": response_due,
            "due_at": response_due,
            "overdue": False,
        }
        return await transition(
            connection,
            complaint=complaint,
            caller=caller,
            action="forward",
            state=FORWARDED,
            fields=fields,
            message=message,
            contract=ComplaintForwarded,
            now=now,
        )


async def respond(
    engine: AsyncEngine,
    *,
    calendar: WorkingCalendar,
    caller: Principal,
    complaint_id: str,
    message: str,
) -> StoredComplaint:
    """The agency answers; without a reply the complaint closes in 10 working days."""
    async with db.transaction(engine) as connection:
        complaint = await _load_for(
            connection, caller=caller, complaint_id=complaint_id, action="respond"
        )
        now = utc_now()
        fields = {
            "responded_at": now,
            "closes_at": calendar.add(now, AUTO_CLOSE_DAYS),
            "due_at": None,
            "overdue": False,
        }
        return await transition(
            connection,
            complaint=complaint,
            caller=caller,
            action="respond",
            state=RESPONDED,
            fields=fields,
            message=message,
            contract=ComplaintResponded,
            now=now,
        )


async def reply(
    engine: AsyncEngine,
    *,
    calendar: WorkingCalendar,
    caller: Principal,
    complaint_id: str,
    message: str,
) -> StoredComplaint:
    """The citizen replies to the answer: back to the agency, which answers in 5 working days."""
    async with db.transaction(engine) as connection:
        complaint = await _load_for(
            connection, caller=caller, complaint_id=complaint_id, action="reply"
        )
        now = utc_now()
        response_due = calendar.add(now, RESPONSE_DAYS)
        fields = {
            "response_due_at": response_due,
            "due_at": response_due,
            "closes_at": None,
            "overdue": False,
        }
        return await transition(
            connection,
            complaint=complaint,
            caller=caller,
            action="reply",
            state=FORWARDED,
            fields=fields,
            message=message,
            contract=ComplaintReplied,
            now=now,
        )


async def close(
    engine: AsyncEngine, *, caller: Principal, complaint_id: str, message: str | None
) -> StoredComplaint:
    """Close the complaint: its citizen at any time, the mall's administrators saying why."""
    async with db.transaction(engine) as connection:
        complaint = await _load_for(
            connection, caller=caller, complaint_id=complaint_id, action="close"
        )
        if caller.role == "mpp_admin" and not is_owner(caller, complaint) and not message:
            raise invalid(
                "message",
                "Tuliskan alasan penutupan untuk pelapor.",
                "Tell the citizen why it is closed.",
            )
        return await transition(
            connection,
            complaint=complaint,
            caller=caller,
            action="close",
            state=CLOSED,
            fields=closing(utc_now()),
            message=message,
            contract=ComplaintClosed,
        )


def closing(now: dt.datetime) -> dict[str, Any]:
    """What closing changes, whoever closes."""
    return {"open": False, "closed_at": now, "closes_at": None, "due_at": None, "overdue": False}


async def _load_for(
    connection: AsyncConnection, *, caller: Principal, complaint_id: str, action: str
) -> StoredComplaint:
    """The complaint, if the caller may see it, their role may take `action` and its state
    allows it now; else a 404, 403 or 409 saying why."""
    complaint = await load_visible(connection, caller=caller, complaint_id=complaint_id)
    if not may_take(caller, complaint, action):
        indonesian, english = {
            "forward": (
                "Hanya administrator MPP yang memverifikasi dan meneruskan pengaduan.",
                "Only the mall's administrators verify and forward complaints.",
            ),
            "respond": (
                "Hanya petugas instansi yang dituju yang dapat menanggapi pengaduan.",
                "Only the staff of the agency it was forwarded to may answer a complaint.",
            ),
            "reply": (
                "Hanya pelapor yang dapat membalas tanggapan.",
                "Only the citizen who filed the complaint may reply.",
            ),
            "close": (
                "Hanya pelapor atau administrator MPP yang dapat menutup pengaduan.",
                "Only the citizen who filed it or the mall's administrators may close it.",
            ),
        }[action]
        raise refusal(403, "role-not-allowed", indonesian, english)
    if complaint.state not in SOURCES[action]:
        state = STATES[complaint.state]
        label = ACTIONS[action]
        raise refusal(
            409,
            "action-not-allowed",
            f"'{label.id}' tidak dapat dilakukan saat pengaduan berstatus '{state.id}'.",
            f"'{label.en}' is not possible while the complaint is '{state.en}'.",
            state=complaint.state,
            allowed_actions=allowed_actions(caller, complaint),
        )
    return complaint


async def transition(
    connection: AsyncConnection,
    *,
    complaint: ComplaintRecord,
    caller: Principal | None,
    action: str,
    state: str,
    fields: dict[str, Any],
    message: str | None,
    contract: type[ComplaintFacts],
    now: dt.datetime | None = None,
    automatic: bool = False,
) -> StoredComplaint:
    """Move to `state` with the timeline line and the event; 409 when another action won."""
    now = now or utc_now()
    changes = {**fields, "state": state, "updated_at": now}
    facts = facts_of(complaint.model_copy(update=changes))
    event = event_of(ComplaintClosed(**facts, automatic=True) if automatic else contract(**facts))
    actor, role = (caller.subject, caller.role) if caller else ("system", "system")
    try:
        return await store.update(
            connection,
            complaint_id=complaint.id,
            expected_version=complaint.version,
            changes=changes,
            new_events=[event],
            line=line_of(now, action, actor, role, state, message),
        )
    except db.VersionConflict:
        raise refusal(
            409,
            "concurrent-action",
            "Pengaduan ini baru saja diubah oleh orang lain. Muat ulang lalu coba lagi.",
            "Someone else just changed this complaint. Reload and try again.",
        ) from None
