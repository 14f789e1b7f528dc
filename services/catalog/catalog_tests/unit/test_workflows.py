"""Workflow templates are sound; unsound workflows are caught with the reason."""

from __future__ import annotations

import pytest

from catalog import workflows
from catalog.models import LocalizedText, Workflow, WorkflowAction, WorkflowState


@pytest.mark.parametrize("sla_days", [0, 1, 5, 14])
def test_templates_are_sound(sla_days: int) -> None:
    assert workflows.problems(workflows.review(sla_days)) == []
    assert workflows.problems(workflows.visit(sla_days)) == []


def test_review_template_pauses_the_clock_while_the_citizen_revises() -> None:
    flow = workflows.review(5, auto_issue=True)
    states = {s.code: s for s in flow.states}
    assert states["revision_requested"].pauses_sla
    assert states["revision_requested"].documents_replaceable
    assert flow.auto_issue_on_expiry
    assert sum(s.sla_days or 0 for s in flow.states) == 5
    citizen_actions = {a.code for a in flow.actions if "citizen" in a.roles}
    assert citizen_actions == {"resubmit", "cancel"}


def label() -> LocalizedText:
    return LocalizedText(id="x", en="x")


def flow(
    states: list[tuple[str, bool]], actions: list[tuple[str, list[str], str]], initial: str = "a"
) -> Workflow:
    return Workflow(
        initial_state=initial,
        sla_days=3,
        states=[WorkflowState(code=c, label=label(), terminal=t) for c, t in states],
        actions=[
            WorkflowAction(code=c, label=label(), from_states=f, to_state=to, roles=["officer"])
            for c, f, to in actions
        ],
    )


def test_unreachable_states_dead_ends_and_missing_terminal_are_named() -> None:
    found = workflows.problems(
        flow([("a", False), ("b", False), ("island", False)], [("go", ["a"], "b")])
    )
    assert "workflow.states: no terminal state" in found
    assert any(p.startswith("workflow.states.island: unreachable") for p in found)
    assert any(p.startswith("workflow.states.b: a dead end") for p in found)


def test_unknown_states_and_leaving_a_terminal_state_are_named() -> None:
    found = workflows.problems(
        flow(
            [("a", False), ("done", True)],
            [("finish", ["a"], "done"), ("reopen", ["done"], "a"), ("jump", ["zz"], "qq")],
        )
    )
    assert "workflow.actions.reopen: leaves terminal state 'done'" in found
    assert "workflow.actions.jump.from_states: unknown state 'zz'" in found
    assert "workflow.actions.jump.to_state: unknown state 'qq'" in found


def test_unknown_initial_state_and_duplicate_codes_are_named() -> None:
    found = workflows.problems(
        flow([("a", False), ("a", True)], [("x", ["a"], "a"), ("x", ["a"], "a")], initial="start")
    )
    assert "workflow.initial_state: unknown state 'start'" in found
    assert "workflow.states: state codes must be unique" in found
    assert "workflow.actions: action codes must be unique" in found
