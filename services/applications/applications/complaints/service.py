"""The complaint rules and their SP4N-LAPOR! clocks.

A complaint is `received` by the mall, verified and `forwarded` to an agency within 3 working
days, `responded` to by the agency within 5, and `closed` by the citizen, by the mall's
administrators, or automatically 10 working days after a response the citizen did not reply to.
A reply sends it back to the agency (`forwarded` again) with a new 5-day clock.

Who sees what: the citizen their own; an agency's staff their agency's once forwarded; the
mall's administrators and operations viewers all. Another's complaint is a 404, never a 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from applications import catalog_view
from applications import store as applications_store
from applications.complaints import store
from applications.complaints.models import (
    ACTIONS,
    CLOSED,
    FORWARDED,
    RECEIVED,
    RESPONDED,
    STATES,
    ComplaintInput,
)
from applications.deps import not_found
from applications.numbers import next_number
from applications.settings import Settings
from applications.workdays import WorkingCalendar
from mpp_shared import idempotency, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts.applications import (
    ComplaintClosed,
    ComplaintFacts,
    ComplaintFiled,
    ComplaintForwarded,
    ComplaintReplied,
    ComplaintResponded,
)
from mpp_shared.events import Event, new_event
from mpp_shared.outbox import VersionConflict
from mpp_shared.problems import Problem

Db = store.Db
Document = store.Document
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _problem(status: int, reason: str, indonesian: str, english: str, **extra: Any) -> Problem:
    code = {403: "forbidden", 409: "conflict"}.get(status, "validation")
    return Problem(status, code, detail={"id": indonesian, "en": english}, reason=reason, **extra)


def _invalid(field: str, indonesian: str, english: str) -> Problem:
    message = {"id": indonesian, "en": english}
    return Problem(422, "validation", errors=[{"field": field, "in": "body", "message": message}])


# --- who may see and do what ---------------------------------------------------------------------


def _owner(caller: Principal, complaint: Document) -> bool:
    return caller.role == "citizen" and complaint["citizen_id"] == caller.subject


def _agency_staff(caller: Principal, complaint: Document) -> bool:
    return caller.role in STAFF and caller.agency == complaint.get("agency")


def may_read(caller: Principal, complaint: Document) -> bool:
    """The citizen who filed it, its agency's staff once forwarded, and the mall-wide roles."""
    if caller.role == "citizen":
        return _owner(caller, complaint)
    if caller.role in STAFF:
        return _agency_staff(caller, complaint) and complaint.get("forwarded_at") is not None
    return caller.role in MALL_WIDE


def _may_take(caller: Principal, complaint: Document, action: str) -> bool:
    """Whether the caller's role lets them take `action` on this complaint, in any state."""
    if action == "forward":
        return caller.role == "mpp_admin"
    if action == "respond":
        return _agency_staff(caller, complaint)
    if action == "reply":
        return _owner(caller, complaint)
    return _owner(caller, complaint) or caller.role == "mpp_admin"  # close


def allowed_actions(caller: Principal, complaint: Document) -> list[str]:
    """The actions the caller may take on the complaint now."""
    return [a for a in ACTS if complaint["state"] in SOURCES[a] and _may_take(caller, complaint, a)]


def overdue(complaint: Document, now: dt.datetime) -> bool:
    """Past the deadline of the step the mall or the agency owes: noted by the clock check,
    or passed since it last ran."""
    if complaint["state"] not in (RECEIVED, FORWARDED):
        return False
    due = complaint.get("due_at")
    return bool(complaint.get("overdue")) or (due is not None and now > due)


async def load_visible(db: Db, *, caller: Principal, complaint_id: str) -> Document:
    """A complaint the caller may read, or a 404."""
    complaint = await store.find(db, complaint_id)
    if complaint is None or not may_read(caller, complaint):
        raise not_found()
    return complaint


def list_query(caller: Principal, *, agency: str | None) -> Document:
    """What the caller's list holds: their own, their agency's forwarded ones, or all."""
    if caller.role == "citizen":
        return {"citizen_id": caller.subject}
    if caller.role in STAFF:
        return {"agency": caller.agency, "forwarded_at": {"$ne": None}}
    return {"agency": agency} if agency else {}


async def by_tracking_id(db: Db, tracking_id: str) -> Document | None:
    """The complaint a tracking id names."""
    return await store.by_tracking_id(db, tracking_id.strip().upper())


# --- filing --------------------------------------------------------------------------------------


async def file(
    db: Db,
    *,
    settings: Settings,
    calendar: WorkingCalendar,
    caller: Principal,
    complaint: ComplaintInput,
    idempotency_key: str | None,
) -> tuple[Document, bool]:
    """Record a citizen's complaint with its forwarding clock; a retry with the same key
    returns the first."""
    fingerprint = idempotency.fingerprint(complaint)
    complaint_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:complaints", key=idempotency_key
    )
    existing = await store.find(db, complaint_id)
    if existing is not None:
        idempotency.check_replay(existing, fingerprint)
        return existing, False
    agency = await _agency_of(db, caller=caller, complaint=complaint)
    now = _now()
    tracking_id = await next_number(
        db, prefix=f"ADU-{settings.regency_code}", day=calendar.local_date(now)
    )
    forward_due = calendar.add(now, FORWARD_DAYS)
    document: Document = {
        "_id": complaint_id,
        "tracking_id": tracking_id,
        "citizen_id": caller.subject,
        "application_id": complaint.application_id,
        "agency": agency,
        "subject": complaint.subject,
        "description": complaint.description,
        "category": complaint.category,
        "state": RECEIVED,
        "open": True,
        "filed_at": now,
        "updated_at": now,
        "forward_due_at": forward_due,
        "forwarded_at": None,
        "response_due_at": None,
        "responded_at": None,
        "closes_at": None,
        "closed_at": None,
        "due_at": forward_due,
        "overdue": False,
        "timeline": [_line(now, "file", caller.subject, "citizen", RECEIVED, None)],
        idempotency.FINGERPRINT: fingerprint,
    }
    filed = _event(ComplaintFiled(**_facts(document)))
    await store.add_tracking_id(db, tracking_id, complaint_id)
    if not await store.insert(db, document, [filed]):
        # The same key raced this request: answer as the first did.
        existing = await store.find(db, complaint_id)
        assert existing is not None
        idempotency.check_replay(existing, fingerprint)
        return existing, False
    return document, True


async def _agency_of(db: Db, *, caller: Principal, complaint: ComplaintInput) -> str | None:
    """The agency complained about: the application's, else the one named (which must exist)."""
    if complaint.application_id is not None:
        application = await applications_store.find(db, complaint.application_id)
        if application is None or application["citizen_id"] != caller.subject:
            raise _invalid(
                "application_id",
                "Permohonan ini tidak ditemukan di antara permohonan Anda.",
                "No such application among yours.",
            )
        if complaint.agency is not None and complaint.agency != application["agency"]:
            raise _invalid(
                "agency",
                f"Permohonan ini ditangani {application['agency']}; kosongkan instansi "
                "atau pilih instansi tersebut.",
                f"That application is {application['agency']}'s; leave the agency out "
                "or name that one.",
            )
        return str(application["agency"])
    if complaint.agency is not None:
        await _known_agency(db, complaint.agency)
    return complaint.agency


async def _known_agency(db: Db, code: str) -> None:
    if await catalog_view.agency(db, code) is None:
        raise _invalid("agency", "Instansi tidak dikenal.", "No such agency.")


# --- actions -------------------------------------------------------------------------------------


async def forward(
    db: Db,
    *,
    calendar: WorkingCalendar,
    caller: Principal,
    complaint_id: str,
    agency: str | None,
    message: str | None,
) -> Document:
    """The mall's administrator verified the complaint: forward it to the agency."""
    complaint = await _load_for(db, caller=caller, complaint_id=complaint_id, action="forward")
    target = agency or complaint.get("agency")
    if target is None:
        raise _invalid(
            "agency",
            "Pilih instansi tujuan pengaduan ini.",
            "Name the agency this complaint goes to.",
        )
    if target != complaint.get("agency"):
        await _known_agency(db, target)
    now = _now()
    response_due = calendar.add(now, RESPONSE_DAYS)
    fields = {
        "agency": target,
        "forwarded_at": now,
        "response_due_at": response_due,
        "due_at": response_due,
        "overdue": False,
    }
    return await _transition(
        db,
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
    db: Db, *, calendar: WorkingCalendar, caller: Principal, complaint_id: str, message: str
) -> Document:
    """The agency answers; without a reply the complaint closes in 10 working days."""
    complaint = await _load_for(db, caller=caller, complaint_id=complaint_id, action="respond")
    now = _now()
    fields = {
        "responded_at": now,
        "closes_at": calendar.add(now, AUTO_CLOSE_DAYS),
        "due_at": None,
        "overdue": False,
    }
    return await _transition(
        db,
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
    db: Db, *, calendar: WorkingCalendar, caller: Principal, complaint_id: str, message: str
) -> Document:
    """The citizen replies to the answer: back to the agency, which answers in 5 working days."""
    complaint = await _load_for(db, caller=caller, complaint_id=complaint_id, action="reply")
    now = _now()
    response_due = calendar.add(now, RESPONSE_DAYS)
    fields = {
        "response_due_at": response_due,
        "due_at": response_due,
        "closes_at": None,
        "overdue": False,
    }
    return await _transition(
        db,
        complaint=complaint,
        caller=caller,
        action="reply",
        state=FORWARDED,
        fields=fields,
        message=message,
        contract=ComplaintReplied,
        now=now,
    )


async def close(db: Db, *, caller: Principal, complaint_id: str, message: str | None) -> Document:
    """Close the complaint: its citizen at any time, the mall's administrators saying why."""
    complaint = await _load_for(db, caller=caller, complaint_id=complaint_id, action="close")
    if caller.role == "mpp_admin" and not _owner(caller, complaint) and not message:
        raise _invalid(
            "message",
            "Tuliskan alasan penutupan untuk pelapor.",
            "Tell the citizen why it is closed.",
        )
    return await _transition(
        db,
        complaint=complaint,
        caller=caller,
        action="close",
        state=CLOSED,
        fields=_closing(_now()),
        message=message,
        contract=ComplaintClosed,
    )


def _closing(now: dt.datetime) -> Document:
    return {"open": False, "closed_at": now, "closes_at": None, "due_at": None, "overdue": False}


async def _load_for(db: Db, *, caller: Principal, complaint_id: str, action: str) -> Document:
    """The complaint, if the caller may see it, their role may take `action` and its state
    allows it now; else a 404, 403 or 409 saying why."""
    complaint = await load_visible(db, caller=caller, complaint_id=complaint_id)
    if not _may_take(caller, complaint, action):
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
        raise _problem(403, "role-not-allowed", indonesian, english)
    if complaint["state"] not in SOURCES[action]:
        state = STATES[complaint["state"]]
        label = ACTIONS[action]
        raise _problem(
            409,
            "action-not-allowed",
            f"'{label.id}' tidak dapat dilakukan saat pengaduan berstatus '{state.id}'.",
            f"'{label.en}' is not possible while the complaint is '{state.en}'.",
            state=complaint["state"],
            allowed_actions=allowed_actions(caller, complaint),
        )
    return complaint


async def _transition(
    db: Db,
    *,
    complaint: Document,
    caller: Principal | None,
    action: str,
    state: str,
    fields: Document,
    message: str | None,
    contract: type[ComplaintFacts],
    now: dt.datetime | None = None,
    automatic: bool = False,
) -> Document:
    """Move to `state` with the timeline line and the event; 409 when another action won."""
    now = now or _now()
    changes = {**fields, "state": state, "updated_at": now}
    facts = _facts(complaint | changes)
    event = _event(ComplaintClosed(**facts, automatic=True) if automatic else contract(**facts))
    actor, role = (caller.subject, caller.role) if caller else ("system", "system")
    try:
        return await store.update(
            db,
            complaint_id=complaint["_id"],
            expected_version=complaint["version"],
            fields=changes,
            new_events=[event],
            line=_line(now, action, actor, role, state, message),
        )
    except VersionConflict:
        raise _problem(
            409,
            "concurrent-action",
            "Pengaduan ini baru saja diubah oleh orang lain. Muat ulang lalu coba lagi.",
            "Someone else just changed this complaint. Reload and try again.",
        ) from None


def _line(
    at: dt.datetime, action: str, actor: str, role: str, state: str, message: str | None
) -> Document:
    return {
        "at": at,
        "action": action,
        "actor": actor,
        "actor_role": role,
        "state": state,
        "message": message,
    }


def _facts(complaint: Document) -> dict[str, Any]:
    due = complaint.get("closes_at") if complaint["state"] == RESPONDED else complaint["due_at"]
    return {
        "complaint_id": complaint["_id"],
        "tracking_id": complaint["tracking_id"],
        "state": complaint["state"],
        "agency": complaint.get("agency"),
        "application_id": complaint.get("application_id"),
        "citizen_id": complaint["citizen_id"],
        "due_at": due,
    }


def _event(data: ComplaintFacts) -> Event:
    kind = {
        ComplaintFiled: "filed",
        ComplaintForwarded: "forwarded",
        ComplaintResponded: "responded",
        ComplaintReplied: "replied",
        ComplaintClosed: "closed",
    }[type(data)]
    return new_event(
        type=f"applications.complaint.{kind}.v1",
        source=SOURCE,
        subject=data.complaint_id,
        data=data,
    )


# --- the clocks ----------------------------------------------------------------------------------


async def check_clocks(db: Db, *, calendar: WorkingCalendar, now: dt.datetime) -> int:
    """Act on the complaint clocks that ran out by `now`; returns how many complaints changed.

    A complaint answered 10 working days ago without a reply closes (ComplaintClosed,
    automatic). A forwarding or response deadline that passed is noted once on the complaint
    (a flag and a timeline line, no event), so the lists count it and nothing is said twice.
    """
    changed = 0
    for complaint in await store.open_complaints(db):
        try:
            changed += await _check_one(db, complaint=complaint, now=now)
        except Problem:
            continue  # changed meanwhile (the version guard): next round
    return changed


async def _check_one(db: Db, *, complaint: Document, now: dt.datetime) -> int:
    state = complaint["state"]
    closes = complaint.get("closes_at")
    if state == RESPONDED and closes is not None and now > closes:
        await _transition(
            db,
            complaint=complaint,
            caller=None,
            action="auto_close",
            state=CLOSED,
            fields=_closing(now),
            message=None,
            contract=ComplaintClosed,
            now=now,
            automatic=True,
        )
        return 1
    due = complaint.get("due_at")
    # The flag notes this clock's overdue once; forwarding or a reply starts a new clock.
    noted = complaint.get("overdue")
    if state not in (RECEIVED, FORWARDED) or noted or due is None or now <= due:
        return 0
    action = "forward_overdue" if state == RECEIVED else "response_overdue"
    try:
        await store.update(
            db,
            complaint_id=complaint["_id"],
            expected_version=complaint["version"],
            fields={"overdue": True},
            new_events=[],
            line=_line(now, action, "system", "system", state, None),
        )
    except VersionConflict:
        return 0
    return 1
