"""The catalog's workflow templates, and the soundness check every published workflow passes."""

from __future__ import annotations

from catalog.models import LocalizedText, Workflow, WorkflowAction, WorkflowState
from mpp_shared.contracts.catalog import ROLES


def _state(code: str, id_: str, en: str, **flags: object) -> WorkflowState:
    return WorkflowState(code=code, label=LocalizedText(id=id_, en=en), **flags)  # type: ignore[arg-type]


def _action(
    code: str, id_: str, en: str, sources: list[str], target: str, roles: list[str], **flags: object
) -> WorkflowAction:
    return WorkflowAction(
        code=code,
        label=LocalizedText(id=id_, en=en),
        from_states=sources,
        to_state=target,
        roles=roles,
        **flags,  # type: ignore[arg-type]
    )


_STAFF = ["officer", "agency_admin"]


def review(sla_days: int, *, auto_issue: bool = False) -> Workflow:
    """Fully online: officers verify the documents, approve and complete (issuing the output)."""
    verification_days = min(1, sla_days)
    return Workflow(
        initial_state="submitted",
        sla_days=sla_days,
        auto_issue_on_expiry=auto_issue,
        states=[
            _state("submitted", "Diajukan", "Submitted", sla_days=verification_days),
            _state(
                "in_review",
                "Diperiksa petugas",
                "Under review",
                sla_days=sla_days - verification_days,
            ),
            _state(
                "revision_requested",
                "Perlu perbaikan berkas",
                "Revision requested",
                pauses_sla=True,
                documents_replaceable=True,
            ),
            _state("approved", "Disetujui", "Approved", sla_days=0),
            _state("completed", "Selesai", "Completed", terminal=True),
            _state("rejected", "Ditolak", "Rejected", terminal=True),
            _state("cancelled", "Dibatalkan", "Cancelled", terminal=True),
        ],
        actions=[
            _action(
                "start_review", "Mulai periksa", "Start review", ["submitted"], "in_review", _STAFF
            ),
            _action(
                "request_revision",
                "Minta perbaikan berkas",
                "Request revision",
                ["submitted", "in_review"],
                "revision_requested",
                _STAFF,
                requires_note=True,
            ),
            _action(
                "resubmit",
                "Ajukan ulang",
                "Resubmit",
                ["revision_requested"],
                "submitted",
                ["citizen"],
            ),
            _action("approve", "Setujui", "Approve", ["in_review"], "approved", _STAFF),
            _action(
                "complete", "Selesaikan", "Complete", ["approved"], "completed", [*_STAFF, "system"]
            ),
            _action(
                "reject",
                "Tolak",
                "Reject",
                ["submitted", "in_review"],
                "rejected",
                _STAFF,
                requires_note=True,
            ),
            _action(
                "cancel",
                "Batalkan",
                "Cancel",
                ["submitted", "revision_requested"],
                "cancelled",
                ["citizen"],
            ),
        ],
    )


def visit(sla_days: int) -> Workflow:
    """Apply and book online, finish at a counter: officers verify, the citizen comes in person."""
    return Workflow(
        initial_state="submitted",
        sla_days=sla_days,
        states=[
            _state("submitted", "Diajukan", "Submitted", sla_days=min(1, sla_days)),
            _state(
                "revision_requested",
                "Perlu perbaikan berkas",
                "Revision requested",
                pauses_sla=True,
                documents_replaceable=True,
            ),
            _state(
                "awaiting_visit",
                "Menunggu kedatangan di loket",
                "Awaiting counter visit",
                sla_days=max(sla_days - 1, 0),
            ),
            _state("completed", "Selesai", "Completed", terminal=True),
            _state("rejected", "Ditolak", "Rejected", terminal=True),
            _state("cancelled", "Dibatalkan", "Cancelled", terminal=True),
        ],
        actions=[
            _action(
                "verify",
                "Berkas lengkap, undang ke loket",
                "Verified, invite to counter",
                ["submitted"],
                "awaiting_visit",
                _STAFF,
            ),
            _action(
                "request_revision",
                "Minta perbaikan berkas",
                "Request revision",
                ["submitted"],
                "revision_requested",
                _STAFF,
                requires_note=True,
            ),
            _action(
                "resubmit",
                "Ajukan ulang",
                "Resubmit",
                ["revision_requested"],
                "submitted",
                ["citizen"],
            ),
            _action(
                "complete",
                "Selesai dilayani di loket",
                "Served at the counter",
                ["awaiting_visit"],
                "completed",
                _STAFF,
            ),
            _action(
                "reject",
                "Tolak",
                "Reject",
                ["submitted", "awaiting_visit"],
                "rejected",
                _STAFF,
                requires_note=True,
            ),
            _action(
                "cancel",
                "Batalkan",
                "Cancel",
                ["submitted", "revision_requested", "awaiting_visit"],
                "cancelled",
                ["citizen"],
            ),
        ],
    )


def problems(workflow: Workflow) -> list[str]:
    """Why a workflow is unsound, in English field-path terms; empty when it is sound."""
    found: list[str] = []
    codes = [s.code for s in workflow.states]
    known = set(codes)
    if len(known) != len(codes):
        found.append("workflow.states: state codes must be unique")
    action_codes = [a.code for a in workflow.actions]
    if len(set(action_codes)) != len(action_codes):
        found.append("workflow.actions: action codes must be unique")
    if workflow.initial_state not in known:
        found.append(f"workflow.initial_state: unknown state {workflow.initial_state!r}")
    terminal = {s.code for s in workflow.states if s.terminal}
    if not terminal:
        found.append("workflow.states: no terminal state")
    outgoing: dict[str, set[str]] = {code: set() for code in known}
    for action in workflow.actions:
        for source in action.from_states:
            if source not in known:
                found.append(
                    f"workflow.actions.{action.code}.from_states: unknown state {source!r}"
                )
            else:
                outgoing[source].add(action.to_state)
            if source in terminal:
                found.append(f"workflow.actions.{action.code}: leaves terminal state {source!r}")
        if action.to_state not in known:
            found.append(
                f"workflow.actions.{action.code}.to_state: unknown state {action.to_state!r}"
            )
        for role in action.roles:
            if role not in ROLES:
                found.append(f"workflow.actions.{action.code}.roles: unknown role {role!r}")
        if not action.roles:
            found.append(f"workflow.actions.{action.code}.roles: no role may take it")
    if workflow.initial_state in known:
        reached, frontier = {workflow.initial_state}, [workflow.initial_state]
        while frontier:
            for target in outgoing.get(frontier.pop(), ()):
                if target in known and target not in reached:
                    reached.add(target)
                    frontier.append(target)
        for code in codes:
            if code not in reached:
                found.append(f"workflow.states.{code}: unreachable from {workflow.initial_state!r}")
        for code in reached - terminal:
            if not outgoing[code]:
                found.append(
                    f"workflow.states.{code}: a dead end (no action leaves it, not terminal)"
                )
        if not reached & terminal:
            found.append("workflow: no terminal state can be reached")
    return found
