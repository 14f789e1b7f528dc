"""The application rules: submission checked against the published service, the workflow engine
driven by the service's definition, and the SLA clocks in working days.

Keyword-only functions over the store; expected failures are Problems (problem+json). Another
citizen's application, or another agency's for staff, is a 404: its existence is not told.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from applications import catalog_view, documents_view, forms, store
from applications.models import ActionInput, Submission
from applications.numbers import next_number
from applications.settings import Settings
from applications.workdays import WorkingCalendar
from mpp_shared import idempotency, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts import Contract
from mpp_shared.contracts.applications import (
    ApplicationApproved,
    ApplicationCancelled,
    ApplicationCompleted,
    ApplicationRejected,
    ApplicationStatusChanged,
    ApplicationSubmitted,
    RevisionRequested,
)
from mpp_shared.contracts.catalog import ServicePublished, Workflow, WorkflowAction, WorkflowState
from mpp_shared.events import Event, new_event
from mpp_shared.outbox import VersionConflict
from mpp_shared.problems import Problem

Db = store.Db
Document = store.Document
SOURCE = topics.source_of("applications")
TRACKING = "tracking_numbers"
STAFF = ("officer", "agency_admin")
# Roles that read any agency's applications: the mall's administrators and its command center.
MALL_WIDE = ("mpp_admin", "ops_viewer")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _problem(status: int, reason: str, indonesian: str, english: str, **extra: Any) -> Problem:
    code = {403: "forbidden", 404: "not-found", 409: "conflict"}.get(status, "validation")
    return Problem(status, code, detail={"id": indonesian, "en": english}, reason=reason, **extra)


def _field(field: str, indonesian: str, english: str) -> dict[str, Any]:
    return {"field": field, "in": "body", "message": {"id": indonesian, "en": english}}


# --- who may see and do what ---------------------------------------------------------------------


def may_read(caller: Principal, application: Document) -> bool:
    """The citizen who applied, the agency's staff and partners, and the mall-wide roles."""
    if caller.role == "citizen":
        return bool(application["citizen_id"] == caller.subject)
    if caller.role in (*STAFF, "partner"):
        return caller.agency == application["agency"] and (
            caller.role != "partner" or "applications:read" in caller.scopes
        )
    return caller.role in MALL_WIDE


def _acting_role(caller: Principal) -> str:
    # The mall's administrators may do what an agency's administrator may.
    return "agency_admin" if caller.role == "mpp_admin" else caller.role


async def load_visible(db: Db, *, caller: Principal, application_id: str) -> Document:
    """An application the caller may read, or a 404."""
    application = await store.find(db, application_id)
    if application is None or not may_read(caller, application):
        raise Problem(404, "not-found")
    return application


async def published_version(db: Db, application: Document) -> ServicePublished:
    """The service version the application was made under."""
    found = await catalog_view.service_version(
        db, application["service_id"], application["service_version"]
    )
    if found is None or found.workflow is None:
        raise Problem(503, "unavailable")  # the read model lost it: only a replay brings it back
    return found


def allowed_actions(
    workflow: Workflow, application: Document, caller: Principal
) -> list[WorkflowAction]:
    """The actions the caller may take on the application now."""
    if caller.role == "citizen" and application["citizen_id"] != caller.subject:
        return []
    if caller.role in STAFF and caller.agency != application["agency"]:
        return []
    role = _acting_role(caller)
    return [
        a for a in workflow.actions if application["state"] in a.from_states and role in a.roles
    ]


def state_of(workflow: Workflow, code: str) -> WorkflowState:
    """A state of the workflow by code."""
    for state in workflow.states:
        if state.code == code:
            return state
    raise Problem(503, "unavailable")


# --- submission ----------------------------------------------------------------------------------


async def submit(
    db: Db,
    *,
    settings: Settings,
    calendar: WorkingCalendar,
    caller: Principal,
    submission: Submission,
    idempotency_key: str | None,
) -> tuple[Document, bool]:
    """Check and record a citizen's application; a retry with the same key returns the first."""
    fingerprint = idempotency.fingerprint(submission)
    application_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:applications", key=idempotency_key
    )
    existing = await store.find(db, application_id)
    if existing is not None:
        idempotency.check_replay(existing, fingerprint)
        return existing, False
    found = await catalog_view.service(db, submission.service)
    if found is None:
        raise _problem(
            404,
            "service-not-found",
            "Layanan tidak ditemukan.",
            "No such service.",
        )
    service, open_for_applications = found
    if not open_for_applications:
        raise _problem(
            409,
            "service-withdrawn",
            "Layanan ini tidak lagi menerima permohonan.",
            "This service no longer takes applications.",
        )
    if service.workflow is None or not {"online", "booking"} & set(service.channels):
        raise _problem(
            409,
            "service-not-online",
            "Layanan ini tidak dapat diajukan secara daring; lihat kanal layanannya.",
            "This service cannot be applied for online; see its channels.",
        )
    errors = forms.problems(service.form_schema, submission.form) if service.form_schema else []
    errors += await _document_problems(db, service, caller, submission.documents, partial=False)
    if errors:
        raise Problem(422, "validation", errors=errors)

    now = _now()
    workflow = service.workflow
    first = state_of(workflow, workflow.initial_state)
    tracking_number = await next_number(
        db,
        prefix=f"{settings.regency_code}-{service.agency}",
        day=calendar.local_date(now),
    )
    overall_due = calendar.add(now, workflow.sla_days)
    state_due = calendar.add(now, first.sla_days) if first.sla_days is not None else None
    document_ids = [d for ids in submission.documents.values() for d in ids]
    application: Document = {
        "_id": application_id,
        "tracking_number": tracking_number,
        "citizen_id": caller.subject,
        "service_id": service.service_id,
        "service_slug": service.slug,
        "service_version": service.version,
        "agency": service.agency,
        "state": first.code,
        "open": not first.terminal,
        "form_json": json.dumps(submission.form),
        "documents": {k: list(v) for k, v in submission.documents.items() if v},
        "document_ids": document_ids,
        "submitted_at": now,
        "updated_at": now,
        "state_entered_at": now,
        "state_due_at": state_due,
        "overall_due_at": overall_due,
        "due_at": _earliest(state_due, overall_due),
        "paused_at": None,
        "breaches": [],
        "completed_at": None,
        "history": [
            {
                "at": now,
                "action": "submit",
                "actor": caller.subject,
                "actor_role": "citizen",
                "from_state": None,
                "to_state": first.code,
                "note": None,
            }
        ],
        idempotency.FINGERPRINT: fingerprint,
    }
    submitted = event_of(
        "submitted", ApplicationSubmitted(**facts_of(application), document_ids=document_ids)
    )
    await db[TRACKING].insert_one({"_id": tracking_number, "application_id": application_id})
    if not await store.insert(db, application, [submitted]):
        # The same key raced this request: answer as the first did.
        existing = await store.find(db, application_id)
        assert existing is not None
        idempotency.check_replay(existing, fingerprint)
        return existing, False
    return application, True


async def _document_problems(
    db: Db,
    service: ServicePublished,
    caller: Principal,
    attached: dict[str, list[str]],
    *,
    partial: bool,
) -> list[dict[str, Any]]:
    """Each missing, unknown, foreign, unchecked or rejected document, named by requirement.

    `partial` (a resubmission): only the requirements given are checked.
    """
    requirements = {r.code: r for r in service.requirements}
    errors = [
        _field(
            f"documents.{code}",
            "Persyaratan ini tidak dikenal untuk layanan ini.",
            "This service has no such requirement.",
        )
        for code in attached
        if code not in requirements
    ]
    known = await documents_view.documents(db, [d for ids in attached.values() for d in ids])
    for code, requirement in requirements.items():
        ids = attached.get(code, [])
        if not ids:
            if requirement.mandatory and not partial:
                errors.append(
                    _field(
                        f"documents.{code}",
                        f"Dokumen wajib: {requirement.name.id}.",
                        f"Required document: {requirement.name.en}.",
                    )
                )
            continue
        for document_id in ids:
            document = known.get(document_id)
            field = f"documents.{code}"
            if document is None or document.get("owner") != caller.subject:
                errors.append(
                    _field(
                        field,
                        f"Dokumen {document_id} tidak ditemukan atau belum selesai diperiksa. "
                        "Coba lagi sebentar lagi.",
                        f"Document {document_id} is unknown or not checked yet. Try again shortly.",
                    )
                )
            elif document["status"] == "rejected":
                errors.append(
                    _field(
                        field,
                        f"Dokumen {document_id} ditolak: {document.get('reason', '')}",
                        f"Document {document_id} was rejected: {document.get('reason', '')}",
                    )
                )
            elif document["status"] != "available":
                errors.append(
                    _field(
                        field,
                        f"Dokumen {document_id} sudah dihapus.",
                        f"Document {document_id} was deleted.",
                    )
                )
    return errors


def _earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def facts_of(application: Document) -> dict[str, Any]:
    return {
        "application_id": application["_id"],
        "tracking_number": application["tracking_number"],
        "service_id": application["service_id"],
        "service_version": application["service_version"],
        "agency": application["agency"],
        "citizen_id": application["citizen_id"],
        "state": application["state"],
        "due_at": application.get("overall_due_at"),
    }


def event_of(kind: str, data: Contract) -> Event:
    subject = getattr(data, "application_id", None) or ""
    return new_event(
        type=f"applications.application.{kind}.v1", source=SOURCE, subject=subject, data=data
    )


# --- the workflow engine -------------------------------------------------------------------------


async def act(
    db: Db,
    *,
    calendar: WorkingCalendar,
    caller: Principal,
    application_id: str,
    action_code: str,
    action: ActionInput,
) -> Document:
    """Take one workflow action; exactly one of two concurrent actions wins (409 for the other)."""
    application = await load_visible(db, caller=caller, application_id=application_id)
    if caller.role in ("ops_viewer", "partner"):
        raise _problem(
            403,
            "role-not-allowed",
            "Peran Anda hanya dapat melihat permohonan.",
            "Your role may only look at applications.",
        )
    service = await published_version(db, application)
    assert service.workflow is not None
    workflow = service.workflow
    step = next((a for a in workflow.actions if a.code == action_code), None)
    if step is None:
        raise Problem(404, "not-found")
    if _acting_role(caller) not in step.roles:
        raise _problem(
            403,
            "role-not-allowed",
            f"Peran Anda tidak dapat melakukan '{step.label.id}'.",
            f"Your role may not '{step.label.en}'.",
        )
    if application["state"] not in step.from_states:
        current = state_of(workflow, application["state"])
        raise _problem(
            409,
            "action-not-allowed",
            f"'{step.label.id}' tidak dapat dilakukan saat permohonan berstatus "
            f"'{current.label.id}'.",
            f"'{step.label.en}' is not possible while the application is '{current.label.en}'.",
            allowed_actions=[a.code for a in allowed_actions(workflow, application, caller)],
        )
    if step.requires_note and not action.note:
        raise Problem(
            422,
            "validation",
            errors=[
                _field("note", "Catatan wajib diisi untuk langkah ini.", "This step needs a note.")
            ],
        )
    fields: Document = {}
    if action.documents is not None:
        if not state_of(workflow, application["state"]).documents_replaceable:
            raise _problem(
                409,
                "documents-locked",
                "Dokumen tidak dapat diganti pada status ini.",
                "Documents cannot be replaced in this state.",
            )
        errors = await _document_problems(db, service, caller, action.documents, partial=True)
        if errors:
            raise Problem(422, "validation", errors=errors)
        documents = application["documents"] | {k: list(v) for k, v in action.documents.items()}
        fields["documents"] = documents
        fields["document_ids"] = [d for ids in documents.values() for d in ids]
    return await transition(
        db,
        calendar=calendar,
        application=application,
        workflow=workflow,
        service=service,
        target=step.to_state,
        action=step.code,
        actor=caller.subject,
        actor_role=_acting_role(caller),
        note=action.note,
        fields=fields,
    )


async def transition(
    db: Db,
    *,
    calendar: WorkingCalendar,
    application: Document,
    workflow: Workflow,
    service: ServicePublished,
    target: str,
    action: str,
    actor: str,
    actor_role: str,
    note: str | None,
    fields: Document | None = None,
    automatic: bool = False,
    now: dt.datetime | None = None,
) -> Document:
    """Move to `target`, keep the SLA clocks, record the history line and the events."""
    now = now or _now()
    leaving = state_of(workflow, application["state"])
    entering = state_of(workflow, target)
    overall_due = application["overall_due_at"]
    if leaving.pauses_sla and application.get("paused_at"):
        # The citizen's time to fix documents does not count against the agency.
        paused_days = calendar.between(application["paused_at"], now)
        overall_due = calendar.add(overall_due, paused_days)
    paused = entering.pauses_sla
    state_due = (
        calendar.add(now, entering.sla_days)
        if entering.sla_days is not None and not paused and not entering.terminal
        else None
    )
    changes: Document = {
        **(fields or {}),
        "state": entering.code,
        "open": not entering.terminal,
        "updated_at": now,
        "state_entered_at": now,
        "state_due_at": state_due,
        "overall_due_at": overall_due,
        "paused_at": now if paused else None,
        "due_at": None if paused or entering.terminal else _earliest(state_due, overall_due),
    }
    if entering.code == "completed":
        changes["completed_at"] = now
    after = application | changes
    facts = facts_of(after)
    events = [
        event_of(
            "status_changed",
            ApplicationStatusChanged(
                **facts,
                from_state=leaving.code,
                action=action,
                actor_role=actor_role,
                document_ids=after.get("document_ids", []),
            ),
        )
    ]
    specific: Contract | None = {
        "revision_requested": lambda: RevisionRequested(**facts, note=note or ""),
        "approved": lambda: ApplicationApproved(
            **facts, electronic_output=service.electronic_output
        ),
        "rejected": lambda: ApplicationRejected(**facts, reason=note or ""),
        "completed": lambda: ApplicationCompleted(
            **facts, electronic_output=service.electronic_output, automatic=automatic
        ),
        "cancelled": lambda: ApplicationCancelled(**facts),
    }.get(entering.code, lambda: None)()
    if specific is not None:
        events.append(event_of(entering.code, specific))
    history = {
        "at": now,
        "action": action,
        "actor": actor,
        "actor_role": actor_role,
        "from_state": leaving.code,
        "to_state": entering.code,
        "note": note,
    }
    try:
        return await store.update(
            db,
            application_id=application["_id"],
            expected_version=application["version"],
            fields=changes,
            new_events=events,
            history=history,
        )
    except VersionConflict:
        raise _problem(
            409,
            "concurrent-action",
            "Permohonan ini baru saja diubah oleh orang lain. Muat ulang lalu coba lagi.",
            "Someone else just changed this application. Reload and try again.",
        ) from None


# --- reading -------------------------------------------------------------------------------------


def overdue(application: Document, now: dt.datetime) -> bool:
    """Past its state's or its overall deadline while the agency holds it."""
    due = application.get("due_at")
    return bool(application.get("open")) and due is not None and now > due


def nearing(application: Document, *, calendar: WorkingCalendar, now: dt.datetime) -> bool:
    """Due by the end of the next working day, and not overdue yet."""
    due = application.get("due_at")
    return bool(application.get("open")) and due is not None and now <= due <= calendar.add(now, 1)


async def by_tracking_number(db: Db, tracking_number: str) -> Document | None:
    """The application a tracking number names."""
    found = await db[TRACKING].find_one({"_id": tracking_number.strip().upper()})
    return await store.find(db, found["application_id"]) if found else None
