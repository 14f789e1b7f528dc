"""The application rules: who may see and do what, submission checked against the published
service, and the reads (a citizen's list, the officer's inbox, the command center's figures).
The workflow engine is in `workflow.py`, the SLA clocks in `clocks.py`.

Keyword-only functions over the store; expected failures are Problems (problem+json). Another
citizen's application, or another agency's for staff, is a 404: its existence is not told.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications import answers, catalog_view, citizens_view, documents_view, forms, store
from applications.models import (
    AgencyCounts,
    ApplicationRecord,
    HistoryLine,
    InboxCounts,
    StoredApplication,
    Submission,
)
from applications.numbers import CodeGuesses, new_check_code, next_number
from applications.settings import Settings
from applications.workdays import WorkingCalendar
from mpp_shared import db, idempotency, topics
from mpp_shared.auth import Principal
from mpp_shared.contracts import Contract
from mpp_shared.contracts.applications import ApplicationSubmitted
from mpp_shared.contracts.catalog import ServicePublished, Workflow, WorkflowAction, WorkflowState
from mpp_shared.events import Event, new_event
from mpp_shared.pii import Vault
from mpp_shared.problems import Problem

SOURCE = topics.source_of("applications")
STAFF = ("officer", "agency_admin")
# Roles that read any agency's applications: the mall's administrators and its command center.
MALL_WIDE = ("mpp_admin", "ops_viewer")
# Roles that work applications and see the applicant's name on them (not partners' systems, not
# the command center's viewers, who need no names).
NAMED = ("officer", "agency_admin", "mpp_admin")


def utc_now() -> dt.datetime:
    """The time now, in UTC."""
    return dt.datetime.now(dt.UTC)


def refusal(status: int, reason: str, indonesian: str, english: str, **extra: Any) -> Problem:
    """The problem+json answer for a refused request, its `reason` machine-readable."""
    code = {403: "forbidden", 404: "not-found", 409: "conflict"}.get(status, "validation")
    return Problem(status, code, detail={"id": indonesian, "en": english}, reason=reason, **extra)


def field_error(field: str, indonesian: str, english: str, *, label: Any = None) -> dict[str, Any]:
    """One failing field of a request body, explained in both languages (and named by its
    label, `{id, en}`, where it has one)."""
    error = {"field": field, "in": "body", "message": {"id": indonesian, "en": english}}
    return error | ({"label": {"id": label.id, "en": label.en}} if label is not None else {})


# --- who may see and do what ---------------------------------------------------------------------


def may_read(caller: Principal, application: ApplicationRecord) -> bool:
    """The citizen who applied, the agency's staff and partners, and the mall-wide roles."""
    if caller.role == "citizen":
        return application.citizen_id == caller.subject
    if caller.role in (*STAFF, "partner"):
        return caller.agency == application.agency and (
            caller.role != "partner" or "applications:read" in caller.scopes
        )
    return caller.role in MALL_WIDE


def sees_sensitive_answers(caller: Principal, application: ApplicationRecord) -> bool:
    """The applicant (who typed them) and the handling agency's staff see the sensitive form
    answers whole; partners, the mall-wide roles and everyone else see them masked."""
    if caller.role == "citizen":
        return application.citizen_id == caller.subject
    return caller.role in STAFF and caller.agency == application.agency


def form_shown(
    application: StoredApplication, published: ServicePublished, caller: Principal, vault: Vault
) -> dict[str, Any]:
    """The form answers as the caller may see them (see `sees_sensitive_answers`)."""
    fields = answers.sensitive_fields(published.form_schema)
    if not fields:
        return application.form
    shown = answers.reveal if sees_sensitive_answers(caller, application) else answers.masked
    return shown(application.form, fields=fields, vault=vault, application_id=application.id)


def acting_role(caller: Principal) -> str:
    """The role the caller acts in on the workflow."""
    # The mall's administrators may do what an agency's administrator may.
    return "agency_admin" if caller.role == "mpp_admin" else caller.role


async def load_visible(
    connection: AsyncConnection, *, caller: Principal, application_id: str
) -> StoredApplication:
    """An application the caller may read, or a 404."""
    application = await store.find(connection, application_id)
    if application is None or not may_read(caller, application):
        raise Problem(404, "not-found")
    return application


async def read(
    engine: AsyncEngine, *, caller: Principal, application_id: str
) -> tuple[StoredApplication, str | None]:
    """An application the caller may read, with its history and the applicant's name as the
    caller may see it; or a 404."""
    async with engine.connect() as connection:
        application = await load_visible(connection, caller=caller, application_id=application_id)
        return application, await applicant_name(connection, caller=caller, application=application)


async def applicant_name(
    connection: AsyncConnection, *, caller: Principal, application: ApplicationRecord
) -> str | None:
    """The applicant's name for the staff who work applications; None for other callers, and
    until the identity service's news of the citizen has arrived."""
    if caller.role not in NAMED:
        return None
    found = await citizens_view.names(connection, [application.citizen_id])
    return found.get(application.citizen_id)


async def applicant_name_of(
    engine: AsyncEngine, *, caller: Principal, application: ApplicationRecord
) -> str | None:
    """`applicant_name` on a connection of its own (after an action was committed)."""
    if caller.role not in NAMED:
        return None
    async with engine.connect() as connection:
        return await applicant_name(connection, caller=caller, application=application)


async def published_version(
    connection: AsyncConnection, application: ApplicationRecord
) -> ServicePublished:
    """The service version the application was made under."""
    found = await catalog_view.service_version(
        connection, application.service_id, application.service_version
    )
    if found is None or found.workflow is None:
        raise Problem(503, "unavailable")  # the read model lost it: only a replay brings it back
    return found


def allowed_actions(
    workflow: Workflow, application: ApplicationRecord, caller: Principal
) -> list[WorkflowAction]:
    """The actions the caller may take on the application now."""
    if caller.role == "citizen" and application.citizen_id != caller.subject:
        return []
    if caller.role in STAFF and caller.agency != application.agency:
        return []
    role = acting_role(caller)
    return [a for a in workflow.actions if application.state in a.from_states and role in a.roles]


def state_of(workflow: Workflow, code: str) -> WorkflowState:
    """A state of the workflow by code."""
    for state in workflow.states:
        if state.code == code:
            return state
    raise Problem(503, "unavailable")


# --- submission ----------------------------------------------------------------------------------


class _KeyTaken(Exception):
    """Another request with the same idempotency key recorded its application first."""


def _replay(
    existing: StoredApplication, fingerprint: str, submission: Submission
) -> StoredApplication:
    """The first application made with a key, unless the key was reused for another request."""
    # Applications stored before fingerprints were keyed hold the plain digest.
    if existing.request_fingerprint != idempotency.fingerprint(submission):
        idempotency.check_replay(existing.request_fingerprint, fingerprint)
    return existing


async def submit(
    engine: AsyncEngine,
    *,
    settings: Settings,
    calendar: WorkingCalendar,
    caller: Principal,
    submission: Submission,
    idempotency_key: str | None,
) -> tuple[StoredApplication, bool]:
    """Check and record a citizen's application; a retry with the same key returns the first.

    The tracking number is taken in the transaction that records the application, so a retry
    that loses to the first request with its key gives its number back."""
    vault = answers.vault_of(settings)
    fingerprint = answers.fingerprint(vault, submission)
    application_id = idempotency.command_id(
        scope=f"citizen:{caller.subject}:applications", key=idempotency_key
    )
    await documents_view.wait_until_known(
        engine, [d for ids in submission.documents.values() for d in ids]
    )
    try:
        async with db.transaction(engine) as connection:
            existing = await store.find(connection, application_id)
            if existing is not None:
                return _replay(existing, fingerprint, submission), False
            service = await _service_to_apply_for(connection, submission.service)
            errors = []
            if service.form_schema:
                # Kept as the form's formats want them (a NIK typed with spaces as its digits);
                # the fingerprint stays that of the request, so a retry still matches it.
                form = forms.normalised(service.form_schema, submission.form)
                submission = submission.model_copy(update={"form": form})
                errors = forms.problems(service.form_schema, form)
            errors += await document_problems(
                connection, service, caller, submission.documents, partial=False
            )
            if errors:
                raise Problem(422, "validation", errors=errors)
            application = _new_application(
                application_id,
                service=service,
                caller=caller,
                submission=submission,
                fingerprint=fingerprint,
                vault=vault,
                calendar=calendar,
                tracking_number=await next_number(
                    connection,
                    prefix=f"{settings.regency_code}-{service.agency}",
                    day=calendar.local_date(utc_now()),
                ),
            )
            submitted = event_of(
                ApplicationSubmitted(
                    **facts_of(application),
                    document_ids=application.document_ids,
                    requires_full_nik=service.requires_full_nik,
                ),
            )
            if not await store.insert(
                connection, application, idempotency_key=idempotency_key, new_events=[submitted]
            ):
                raise _KeyTaken  # and roll back the number taken
            catalog_view.remember_version(connection, service)  # for the answer, after commit
            return application, True
    except _KeyTaken:
        pass
    # The same key raced this request and won: answer as the first did.
    async with engine.connect() as connection:
        existing = await store.find(connection, application_id)
    assert existing is not None
    return _replay(existing, fingerprint, submission), False


async def _service_to_apply_for(connection: AsyncConnection, ref: str) -> ServicePublished:
    """The published service by slug or id, if it takes applications online; else why not."""
    found = await catalog_view.service(connection, ref)
    if found is None:
        raise refusal(404, "service-not-found", "Layanan tidak ditemukan.", "No such service.")
    service, open_for_applications = found
    if not open_for_applications:
        raise refusal(
            409,
            "service-withdrawn",
            "Layanan ini tidak lagi menerima permohonan.",
            "This service no longer takes applications.",
        )
    if service.workflow is None or not {"online", "booking"} & set(service.channels):
        raise refusal(
            409,
            "service-not-online",
            "Layanan ini tidak dapat diajukan secara daring; lihat kanal layanannya.",
            "This service cannot be applied for online; see its channels.",
        )
    return service


def _new_application(
    application_id: str,
    *,
    service: ServicePublished,
    caller: Principal,
    submission: Submission,
    fingerprint: str,
    vault: Vault,
    calendar: WorkingCalendar,
    tracking_number: str,
) -> StoredApplication:
    """A just submitted application in its workflow's first state, its clocks started."""
    assert service.workflow is not None
    now = utc_now()
    workflow = service.workflow
    first = state_of(workflow, workflow.initial_state)
    overall_due = calendar.add(now, workflow.sla_days)
    state_due = calendar.add(now, first.sla_days) if first.sla_days is not None else None
    return StoredApplication(
        id=application_id,
        tracking_number=tracking_number,
        check_code=new_check_code(),
        citizen_id=caller.subject,
        service_id=service.service_id,
        service_slug=service.slug,
        service_version=service.version,
        agency=service.agency,
        state=first.code,
        open=not first.terminal,
        form=answers.seal(
            submission.form,
            fields=answers.sensitive_fields(service.form_schema),
            vault=vault,
            application_id=application_id,
        ),
        documents={k: list(v) for k, v in submission.documents.items() if v},
        submitted_at=now,
        updated_at=now,
        state_entered_at=now,
        state_due_at=state_due,
        overall_due_at=overall_due,
        due_at=earliest(state_due, overall_due),
        paused_at=None,
        completed_at=None,
        breaches=[],
        escalated=False,
        version=1,
        request_fingerprint=fingerprint,
        history=[
            HistoryLine(
                at=now,
                action="submit",
                actor=caller.subject,
                actor_role="citizen",
                from_state=None,
                to_state=first.code,
                note=None,
            )
        ],
    )


async def document_problems(
    connection: AsyncConnection,
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
        field_error(
            f"documents.{code}",
            "Persyaratan ini tidak dikenal untuk layanan ini.",
            "This service has no such requirement.",
        )
        for code in attached
        if code not in requirements
    ]
    known = await documents_view.documents(
        connection, [d for ids in attached.values() for d in ids]
    )
    for code, requirement in requirements.items():
        ids = attached.get(code, [])
        if not ids:
            if requirement.mandatory and not partial:
                errors.append(
                    field_error(
                        f"documents.{code}",
                        "Dokumen ini wajib diunggah.",
                        "This document is required.",
                        label=requirement.name,
                    )
                )
            continue
        for document_id in ids:
            document = known.get(document_id)
            field = f"documents.{code}"
            if document is None or document.owner != caller.subject:
                errors.append(
                    field_error(
                        field,
                        f"Dokumen {document_id} tidak ditemukan. Unggah ulang dokumen ini.",
                        f"Document {document_id} was not found. Upload it again.",
                        label=requirement.name,
                    )
                )
            elif document.status == "rejected":
                errors.append(
                    field_error(
                        field,
                        f"Dokumen {document_id} ditolak: {document.reason or ''}",
                        f"Document {document_id} was rejected: {document.reason or ''}",
                        label=requirement.name,
                    )
                )
            elif document.status != "available":
                errors.append(
                    field_error(
                        field,
                        f"Dokumen {document_id} sudah dihapus.",
                        f"Document {document_id} was deleted.",
                        label=requirement.name,
                    )
                )
    return errors


def earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    """The soonest of the moments given, or None."""
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def facts_of(application: ApplicationRecord) -> dict[str, Any]:
    """What every application event says about the application."""
    return {
        "application_id": application.id,
        "tracking_number": application.tracking_number,
        "service_id": application.service_id,
        "service_version": application.service_version,
        "agency": application.agency,
        "citizen_id": application.citizen_id,
        "state": application.state,
        "due_at": application.overall_due_at,
        "check_code": application.check_code,
    }


def event_of(data: Contract) -> Event:
    """The application event whose contract `data` is (submitted, status_changed ...)."""
    subject = getattr(data, "application_id", None) or ""
    return new_event(data, source=SOURCE, subject=subject)


# --- reading -------------------------------------------------------------------------------------


def overdue(application: ApplicationRecord, now: dt.datetime) -> bool:
    """Past its state's or its overall deadline while the agency holds it."""
    due = application.due_at
    return application.open and due is not None and now > due


def nearing(application: ApplicationRecord, *, calendar: WorkingCalendar, now: dt.datetime) -> bool:
    """Under one working day left, and not overdue yet: due before the end of the next working
    day. Deadlines fall at the end of a working day, so "by" that end would count every
    application whose first state allows one day, minutes after it was submitted."""
    due = application.due_at
    return application.open and due is not None and now <= due < calendar.add(now, 1)


Versions = dict[tuple[str, int], ServicePublished]


async def version_of(engine: AsyncEngine, application: ApplicationRecord) -> ServicePublished:
    """The service version an application was made under: after a commit, from what this
    process already read, so an answer to work that was saved needs no second connection."""
    known = catalog_view.known_version(engine, application.service_id, application.service_version)
    if known is not None:
        return known
    async with engine.connect() as connection:
        return await published_version(connection, application)


async def versions_of(
    connection: AsyncConnection, applications: Sequence[ApplicationRecord]
) -> Versions:
    """The service versions the applications were made under, by service id and version."""
    found: Versions = {}
    for application in applications:
        key = (application.service_id, application.service_version)
        if key not in found:
            found[key] = await published_version(connection, application)
    return found


async def tracked(
    engine: AsyncEngine,
    *,
    guesses: CodeGuesses,
    caller: Principal | None,
    tracking_number: str,
    code: str | None,
) -> tuple[StoredApplication, ServicePublished]:
    """The application a tracking number names, and its service version, for whoever gives its
    check code or may read the application anyway (its applicant, its agency's staff and
    partners, the mall-wide roles). An unknown number, a wrong or missing code, and a number
    that has had too many wrong codes lately are one and the same 404: numbers cannot be
    probed."""
    number = tracking_number.strip().upper()
    async with engine.connect() as connection:
        found = await store.by_tracking_number(connection, number)
        entitled = found is not None and caller is not None and may_read(caller, found)
        if not entitled and not guesses.admits(number, code, found.check_code if found else None):
            raise Problem(404, "not-found")
        assert found is not None
        return found, await published_version(connection, found)


async def of_citizen(
    engine: AsyncEngine, *, caller: Principal, cursor: str | None, limit: int
) -> tuple[list[ApplicationRecord], Versions]:
    """The citizen's own applications, newest first: `limit + 1` after the cursor."""
    async with engine.connect() as connection:
        found = await store.of_citizen(connection, caller.subject, cursor=cursor, limit=limit)
        return found, await versions_of(connection, found)


async def inbox(
    engine: AsyncEngine,
    *,
    calendar: WorkingCalendar,
    agency: str | None,
    state: str | None,
    cursor: str | None,
    limit: int,
    now: dt.datetime,
    named: bool,
) -> tuple[InboxCounts, list[ApplicationRecord], Versions, dict[str, str]]:
    """An agency's open applications, soonest due first (`limit + 1` after the cursor, of one
    state when given), the counts of all of them, and (when `named`) the applicants' names
    known, by citizen id."""
    async with engine.connect() as connection:
        counts = await store.inbox_counts(
            connection, agency=agency, now=now, nearing_until=calendar.add(now, 1)
        )
        found = await store.inbox_page(
            connection, agency=agency, state=state, cursor=cursor, limit=limit
        )
        names = (
            await citizens_view.names(connection, (a.citizen_id for a in found)) if named else {}
        )
        return counts, found, await versions_of(connection, found), names


class Figures:
    """The command center's counts (today's submissions, the backlog, 30 days' completions),
    counted at most once per `max_age` seconds: every open screen asks every few seconds, and
    each count reads the year's applications. Concurrent askers wait for one count."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._counted: tuple[float, dt.datetime, list[AgencyCounts], dict[str, int]] | None = None
        self._lock = asyncio.Lock()

    async def get(
        self, engine: AsyncEngine, *, calendar: WorkingCalendar
    ) -> tuple[dt.datetime, list[AgencyCounts], dict[str, int]]:
        """When the figures were counted, per agency, and the open applications by state."""
        async with self._lock:
            if self._counted is None or time.monotonic() - self._counted[0] >= self.max_age:
                now = utc_now()
                agencies, by_state = await summary(engine, calendar=calendar, now=now)
                self._counted = (time.monotonic(), now, agencies, by_state)
            _, at, agencies, by_state = self._counted
            return at, agencies, by_state


async def summary(
    engine: AsyncEngine, *, calendar: WorkingCalendar, now: dt.datetime
) -> tuple[list[AgencyCounts], dict[str, int]]:
    """The command center's counts: today's submissions, the backlog, 30 days' completions."""
    today = dt.datetime.combine(calendar.local_date(now), dt.time(), tzinfo=calendar.zone)
    async with engine.connect() as connection:
        return await store.summary_figures(
            connection, today=today, since=now - dt.timedelta(days=30), now=now
        )
