"""The complaint rules and their SP4N-LAPOR! clocks.

A complaint is `received` by the mall, verified and `forwarded` to an agency within 3 working
days, `responded` to by the agency within 5, and `closed` by the citizen, by the mall's
administrators, or automatically 10 working days after a response the citizen did not reply to.
A reply sends it back to the agency (`forwarded` again) with a new 5-day clock.

Who sees what: the citizen their own; an agency's staff their agency's once forwarded; the
mall's administrators and operations viewers all. Another's complaint is a 404, never a 403.

Here: who may see and do what, filing and the reads; the steps are in `workflow.py`, the
clocks in `clocks.py`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications import catalog_view
from applications import store as applications_store
from applications.complaints import store
from applications.complaints.models import (
    FORWARDED,
    RECEIVED,
    RESPONDED,
    ComplaintCounts,
    ComplaintInput,
    ComplaintLine,
    ComplaintRecord,
    ComplaintScope,
    StoredComplaint,
)
from applications.deps import not_found
from applications.numbers import CodeGuesses, new_check_code, next_number
from applications.settings import Settings
from applications.workdays import WorkingCalendar
from mpp_shared import db, idempotency, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.applications import (
    ComplaintFacts,
    ComplaintFiled,
)
from mpp_shared.events import Event, new_event
from mpp_shared.problems import Problem

SOURCE = topics.source_of("applications")

FORWARD_DAYS = 3
RESPONSE_DAYS = 5
AUTO_CLOSE_DAYS = 10

STAFF = ("officer", "agency_admin")
MALL_WIDE = ("mpp_admin", "ops_viewer")

# The actions a person takes, in the order they are offered.
ACTS = ("forward", "respond", "reply", "close")
# Which state each action leaves from.
SOURCES = {
    "forward": (RECEIVED,),
    "respond": (FORWARDED,),
    "reply": (RESPONDED,),
    "close": (RECEIVED, FORWARDED, RESPONDED),
}


def utc_now() -> dt.datetime:
    """The time now, in UTC."""
    return dt.datetime.now(dt.UTC)


def refusal(status: int, reason: str, indonesian: str, english: str, **extra: Any) -> Problem:
    """The problem+json answer for a refused action, its `reason` machine-readable."""
    code = {403: "forbidden", 409: "conflict"}.get(status, "validation")
    return Problem(status, code, detail={"id": indonesian, "en": english}, reason=reason, **extra)


def invalid(field: str, indonesian: str, english: str) -> Problem:
    """The 422 answer naming one failing field."""
    message = {"id": indonesian, "en": english}
    return Problem(422, "validation", errors=[{"field": field, "in": "body", "message": message}])


# --- who may see and do what ---------------------------------------------------------------------


def is_owner(caller: Principal, complaint: ComplaintRecord) -> bool:
    """Whether the caller is the citizen who filed the complaint."""
    return caller.role == "citizen" and complaint.citizen_id == caller.subject


def _agency_staff(caller: Principal, complaint: ComplaintRecord) -> bool:
    return caller.role in STAFF and caller.agency == complaint.agency


def may_read(caller: Principal, complaint: ComplaintRecord) -> bool:
    """The citizen who filed it, its agency's staff once forwarded, and the mall-wide roles."""
    if caller.role == "citizen":
        return is_owner(caller, complaint)
    if caller.role in STAFF:
        return _agency_staff(caller, complaint) and complaint.forwarded_at is not None
    return caller.role in MALL_WIDE


def may_take(caller: Principal, complaint: ComplaintRecord, action: str) -> bool:
    """Whether the caller's role lets them take `action` on this complaint, in any state."""
    if action == "forward":
        return caller.role == "mpp_admin"
    if action == "respond":
        return _agency_staff(caller, complaint)
    if action == "reply":
        return is_owner(caller, complaint)
    return is_owner(caller, complaint) or caller.role == "mpp_admin"  # close


def allowed_actions(caller: Principal, complaint: ComplaintRecord) -> list[str]:
    """The actions the caller may take on the complaint now."""
    return [a for a in ACTS if complaint.state in SOURCES[a] and may_take(caller, complaint, a)]


def overdue(complaint: ComplaintRecord, now: dt.datetime) -> bool:
    """Past the deadline of the step the mall or the agency owes: noted by the clock check,
    or passed since it last ran."""
    if complaint.state not in (RECEIVED, FORWARDED):
        return False
    due = complaint.due_at
    return complaint.overdue or (due is not None and now > due)


async def load_visible(
    connection: AsyncConnection, *, caller: Principal, complaint_id: str
) -> StoredComplaint:
    """A complaint the caller may read, or a 404."""
    complaint = await store.find(connection, complaint_id)
    if complaint is None or not may_read(caller, complaint):
        raise not_found()
    return complaint


async def read(engine: AsyncEngine, *, caller: Principal, complaint_id: str) -> StoredComplaint:
    """A complaint the caller may read, with its timeline, or a 404."""
    async with engine.connect() as connection:
        return await load_visible(connection, caller=caller, complaint_id=complaint_id)


def list_query(caller: Principal, *, agency: str | None) -> ComplaintScope:
    """What the caller's list holds: their own, their agency's forwarded ones, or all."""
    if caller.role == "citizen":
        return ComplaintScope(citizen_id=caller.subject)
    if caller.role in STAFF:
        return ComplaintScope(agency=caller.agency, forwarded_only=True)
    return ComplaintScope(agency=agency)


async def listed(
    engine: AsyncEngine,
    *,
    caller: Principal,
    agency: str | None,
    state: str | None,
    cursor: str | None,
    limit: int,
    now: dt.datetime,
) -> tuple[ComplaintCounts, list[ComplaintRecord]]:
    """The counts of the caller's complaints, and a page of them (of one state when given),
    newest first: `limit + 1` after the cursor."""
    scope = list_query(caller, agency=agency)
    async with engine.connect() as connection:
        counted = await store.counts(connection, scope, now=now)
        found = await store.listed(connection, scope, state=state, cursor=cursor, limit=limit)
    return counted, found


async def tracked(
    engine: AsyncEngine,
    *,
    guesses: CodeGuesses,
    caller: Principal | None,
    tracking_id: str,
    code: str | None,
) -> StoredComplaint:
    """The complaint a tracking id names, for whoever gives its check code or may read it
    anyway; an unknown id, a wrong or missing code, and an id that has had too many wrong codes
    lately are one and the same 404."""
    number = tracking_id.strip().upper()
    async with engine.connect() as connection:
        found = await store.by_tracking_id(connection, number)
    entitled = found is not None and caller is not None and may_read(caller, found)
    if not entitled and not guesses.admits(number, code, found.check_code if found else None):
        raise not_found()
    assert found is not None
    return found


# --- filing --------------------------------------------------------------------------------------


class _KeyTaken(Exception):
    """Another request with the same idempotency key recorded its complaint first."""


def _replay(existing: StoredComplaint, fingerprint: str) -> StoredComplaint:
    """The first complaint filed with a key, unless the key was reused for another request."""
    idempotency.check_replay(existing.request_fingerprint, fingerprint)
    return existing


async def file(
    engine: AsyncEngine,
    *,
    settings: Settings,
    calendar: WorkingCalendar,
    caller: Principal,
    complaint: ComplaintInput,
    idempotency_key: str | None,
) -> tuple[StoredComplaint, bool]:
    """Record a citizen's complaint with its forwarding clock; a retry with the same key
    returns the first. The tracking id is taken in the same transaction, so a retry that
    loses to the first request with its key gives its number back."""
    fingerprint = idempotency.fingerprint(complaint)
    complaint_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:complaints", key=idempotency_key
    )
    try:
        async with db.transaction(engine) as connection:
            existing = await store.find(connection, complaint_id)
            if existing is not None:
                return _replay(existing, fingerprint), False
            agency = await _agency_of(connection, caller=caller, complaint=complaint)
            now = utc_now()
            forward_due = calendar.add(now, FORWARD_DAYS)
            filed = StoredComplaint(
                id=complaint_id,
                tracking_id=await next_number(
                    connection, prefix=f"ADU-{settings.regency_code}", day=calendar.local_date(now)
                ),
                check_code=new_check_code(),
                citizen_id=caller.subject,
                application_id=complaint.application_id,
                agency=agency,
                subject=complaint.subject,
                description=complaint.description,
                category=complaint.category,
                state=RECEIVED,
                open=True,
                filed_at=now,
                updated_at=now,
                forward_due_at=forward_due,
                forwarded_at=None,
                response_due_at=None,
                responded_at=None,
                closes_at=None,
                closed_at=None,
                due_at=forward_due,
                overdue=False,
                version=1,
                request_fingerprint=fingerprint,
                timeline=[line_of(now, "file", caller.subject, "citizen", RECEIVED, None)],
            )
            event = event_of(ComplaintFiled(**facts_of(filed)))
            if not await store.insert(
                connection, filed, idempotency_key=idempotency_key, new_events=[event]
            ):
                raise _KeyTaken  # and roll back the number taken
            return filed, True
    except _KeyTaken:
        pass
    # The same key raced this request and won: answer as the first did.
    async with engine.connect() as connection:
        existing = await store.find(connection, complaint_id)
    assert existing is not None
    return _replay(existing, fingerprint), False


async def _agency_of(
    connection: AsyncConnection, *, caller: Principal, complaint: ComplaintInput
) -> str | None:
    """The agency complained about: the application's, else the one named (which must exist)."""
    if complaint.application_id is not None:
        application = await applications_store.find_record(connection, complaint.application_id)
        if application is None or application.citizen_id != caller.subject:
            raise invalid(
                "application_id",
                "Permohonan ini tidak ditemukan di antara permohonan Anda.",
                "No such application among yours.",
            )
        if complaint.agency is not None and complaint.agency != application.agency:
            raise invalid(
                "agency",
                f"Permohonan ini ditangani {application.agency}; kosongkan instansi "
                "atau pilih instansi tersebut.",
                f"That application is {application.agency}'s; leave the agency out "
                "or name that one.",
            )
        return application.agency
    if complaint.agency is not None:
        await check_agency(connection, complaint.agency)
    return complaint.agency


async def check_agency(connection: AsyncConnection, code: str) -> None:
    """Refuse an agency the catalog does not know."""
    if await catalog_view.agency(connection, code) is None:
        raise invalid("agency", "Instansi tidak dikenal.", "No such agency.")


def line_of(
    at: dt.datetime, action: str, actor: str, role: str, state: str, message: str | None
) -> ComplaintLine:
    """A timeline line: who (role) did what, when, the state after and the message."""
    return ComplaintLine(
        at=at, action=action, actor=actor, actor_role=role, state=state, message=message
    )


def facts_of(complaint: ComplaintRecord) -> dict[str, Any]:
    """What every complaint event says about the complaint."""
    due = complaint.closes_at if complaint.state == RESPONDED else complaint.due_at
    return {
        "complaint_id": complaint.id,
        "tracking_id": complaint.tracking_id,
        "state": complaint.state,
        "agency": complaint.agency,
        "application_id": complaint.application_id,
        "citizen_id": complaint.citizen_id,
        "due_at": due,
    }


def event_of(data: ComplaintFacts) -> Event:
    """The event of a complaint's step."""
    return new_event(data, source=SOURCE, subject=data.complaint_id)
