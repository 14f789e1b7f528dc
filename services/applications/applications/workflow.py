"""The workflow engine: an application moves between the states its service's published
workflow defines, by the actions the caller's role may take, keeping the SLA clocks.

Each action is one transaction guarded by the application's version: of two concurrent actions
exactly one wins, and the other is told so (409).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications import answers, documents_view, revisions, store
from applications.models import (
    ActionInput,
    ApplicationRecord,
    AskedFix,
    Change,
    HistoryLine,
    StoredApplication,
)
from applications.service import (
    acting_role,
    allowed_actions,
    document_problems,
    earliest,
    event_of,
    facts_of,
    field_error,
    load_visible,
    published_version,
    refusal,
    state_of,
    utc_now,
)
from applications.workdays import WorkingCalendar
from mpp_shared import db
from mpp_shared.auth import Principal
from mpp_shared.contracts import Contract
from mpp_shared.contracts.applications import (
    ApplicationApproved,
    ApplicationCancelled,
    ApplicationCompleted,
    ApplicationRejected,
    ApplicationStatusChanged,
    RevisionItemFact,
    RevisionRequested,
)
from mpp_shared.contracts.catalog import ServicePublished, Workflow, WorkflowAction
from mpp_shared.pii import Vault
from mpp_shared.problems import Problem


async def act(
    engine: AsyncEngine,
    *,
    calendar: WorkingCalendar,
    caller: Principal,
    application_id: str,
    action_code: str,
    action: ActionInput,
    form_vault: Vault,
    output_vault: Vault | None = None,
) -> StoredApplication:
    """Take one workflow action; exactly one of two concurrent actions wins (409 for the other).

    Sending back may name what must be fixed (`action.revision`); the resubmission then changes
    exactly that (see `revisions`)."""
    if action.documents:
        await documents_view.wait_until_known(
            engine, [d for ids in action.documents.values() for d in ids]
        )
    async with db.transaction(engine) as connection:
        application = await load_visible(connection, caller=caller, application_id=application_id)
        if caller.role in ("ops_viewer", "partner"):
            raise refusal(
                403,
                "role-not-allowed",
                "Peran Anda hanya dapat melihat permohonan.",
                "Your role may only look at applications.",
            )
        service = await published_version(connection, application)
        assert service.workflow is not None
        workflow = service.workflow
        step = _step(workflow, application, caller, action_code, action)
        revision: list[AskedFix] = []
        if action.revision:
            if not state_of(workflow, step.to_state).documents_replaceable:
                raise Problem(
                    422,
                    "validation",
                    errors=[
                        field_error(
                            "revision",
                            "Hanya pengembalian ke warga yang menyebut apa yang harus diperbaiki.",
                            "Only sending back to the citizen names what must be fixed.",
                        )
                    ],
                )
            revision = revisions.asked(service, action.revision)
        changes: dict[str, Any] = {}
        fixes: list[Change] = []
        form = action.form or {}
        documents = action.documents or {}
        replaceable = state_of(workflow, application.state).documents_replaceable
        if (form or action.documents is not None) and not replaceable:
            raise refusal(
                409,
                "documents-locked",
                "Dokumen dan isian tidak dapat diubah pada status ini.",
                "Documents and answers cannot be changed in this state.",
            )
        if replaceable:
            asked = revisions.pending(application)
            errors = revisions.unasked(asked, form=form, documents=documents, service=service)
            if asked and not state_of(workflow, step.to_state).terminal:
                errors += revisions.missing(asked, form=form, documents=documents)
            if errors:
                raise Problem(422, "validation", errors=errors)
        if action.documents is not None:
            errors = await document_problems(
                connection, service, caller, action.documents, partial=True
            )
            if errors:
                raise Problem(422, "validation", errors=errors)
            fixes = revisions.replaced_documents(application, service, action.documents)
            changes["documents"] = application.documents | {
                k: list(v) for k, v in action.documents.items()
            }
        if form:
            changes["form"], changed = revisions.corrected_form(
                application, service, form=form, vault=form_vault
            )
            fixes = changed + fixes
        return await transition(
            connection,
            calendar=calendar,
            application=application,
            service=service,
            target=step.to_state,
            action=step.code,
            actor=caller.subject,
            actor_role=acting_role(caller),
            note=action.note,
            changes=changes,
            output_vault=output_vault,
            revision=revision,
            fixes=fixes,
        )


def _step(
    workflow: Workflow,
    application: ApplicationRecord,
    caller: Principal,
    action_code: str,
    action: ActionInput,
) -> WorkflowAction:
    """The workflow's action `action_code`, if the caller may take it now; else why not."""
    step = next((a for a in workflow.actions if a.code == action_code), None)
    if step is None:
        raise Problem(404, "not-found")
    if acting_role(caller) not in step.roles:
        raise refusal(
            403,
            "role-not-allowed",
            f"Peran Anda tidak dapat melakukan '{step.label.id}'.",
            f"Your role may not '{step.label.en}'.",
        )
    if application.state not in step.from_states:
        current = state_of(workflow, application.state)
        raise refusal(
            409,
            "action-not-allowed",
            f"'{step.label.id}' tidak dapat dilakukan saat permohonan berstatus "
            f"'{current.label.id}'.",
            f"'{step.label.en}' is not possible while the application is '{current.label.en}'.",
            allowed_actions=[a.code for a in allowed_actions(workflow, application, caller)],
        )
    if step.requires_note and not action.note and not any(i.note for i in action.revision or []):
        raise Problem(
            422,
            "validation",
            errors=[
                field_error(
                    "note", "Catatan wajib diisi untuk langkah ini.", "This step needs a note."
                )
            ],
        )
    return step


async def transition(
    connection: AsyncConnection,
    *,
    calendar: WorkingCalendar,
    application: StoredApplication,
    service: ServicePublished,
    target: str,
    action: str,
    actor: str,
    actor_role: str,
    note: str | None,
    changes: dict[str, Any] | None = None,
    automatic: bool = False,
    now: dt.datetime | None = None,
    output_vault: Vault | None = None,
    revision: Sequence[AskedFix] = (),
    fixes: Sequence[Change] = (),
) -> StoredApplication:
    """Move to `target`, keep the SLA clocks, record the history line and the events; with
    `output_vault`, a decision carries what its output prints, sealed; a send-back's
    `revision` (what to fix) and a resubmission's `fixes` (what changed) go in the history
    line and, by name, in the events."""
    assert service.workflow is not None
    now = now or utc_now()
    leaving = state_of(service.workflow, application.state)
    entering = state_of(service.workflow, target)
    overall_due = application.overall_due_at
    if leaving.pauses_sla and application.paused_at:
        # The citizen's time to fix documents does not count against the agency.
        paused_days = calendar.between(application.paused_at, now)
        overall_due = calendar.add(overall_due, paused_days)
    paused = entering.pauses_sla
    state_due = (
        calendar.add(now, entering.sla_days)
        if entering.sla_days is not None and not paused and not entering.terminal
        else None
    )
    changes = {
        **(changes or {}),
        "state": entering.code,
        "open": not entering.terminal,
        "updated_at": now,
        "state_entered_at": now,
        "state_due_at": state_due,
        "overall_due_at": overall_due,
        "paused_at": now if paused else None,
        "due_at": None if paused or entering.terminal else earliest(state_due, overall_due),
    }
    if entering.code == "completed":
        changes["completed_at"] = now
    after = application.model_copy(update=changes)
    facts = facts_of(after)
    events = [
        event_of(
            ApplicationStatusChanged(
                **facts,
                from_state=leaving.code,
                action=action,
                actor_role=actor_role,
                document_ids=after.document_ids,
                terminal=entering.terminal,
                changed_fields=[f.name for f in fixes if f.kind == "field"],
                replaced_requirements=[f.name for f in fixes if f.kind == "requirement"],
            ),
        )
    ]
    output = (
        answers.sealed_output(service, after.form, vault=output_vault, application_id=after.id)
        if output_vault is not None and entering.code in ("approved", "completed")
        else None
    )
    specific: Contract | None = {
        "revision_requested": lambda: RevisionRequested(
            **facts,
            note=revisions.message(note, list(revision)),
            items=[RevisionItemFact.model_validate(a.model_dump()) for a in revision],
        ),
        "approved": lambda: ApplicationApproved(
            **facts,
            electronic_output=service.electronic_output,
            output_sealed=output,
        ),
        "rejected": lambda: ApplicationRejected(**facts, reason=note or ""),
        "completed": lambda: ApplicationCompleted(
            **facts,
            electronic_output=service.electronic_output,
            automatic=automatic,
            output_sealed=output,
        ),
        "cancelled": lambda: ApplicationCancelled(**facts),
    }.get(entering.code, lambda: None)()
    if specific is not None:
        events.append(event_of(specific))
    history = HistoryLine(
        at=now,
        action=action,
        actor=actor,
        actor_role=actor_role,
        from_state=leaving.code,
        to_state=entering.code,
        note=note,
        revision=list(revision),
        changes=list(fixes),
    )
    try:
        return await store.update(
            connection,
            application_id=application.id,
            expected_version=application.version,
            changes=changes,
            new_events=events,
            history=history,
        )
    except db.VersionConflict:
        raise refusal(
            409,
            "concurrent-action",
            "Permohonan ini baru saja diubah oleh orang lain. Muat ulang lalu coba lagi.",
            "Someone else just changed this application. Reload and try again.",
        ) from None
