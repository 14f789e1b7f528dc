"""The SLA clocks: each deadline's breach raised once and escalated to the agency's
administrators; applications of services that issue on expiry completed by the system."""

from __future__ import annotations

import datetime as dt

from applications import service as rules
from applications import store
from applications.workdays import WorkingCalendar
from mpp_shared.contracts.applications import SlaBreached
from mpp_shared.outbox import VersionConflict
from mpp_shared.problems import Problem

Db = store.Db
Document = store.Document


async def check_clocks(db: Db, *, calendar: WorkingCalendar, now: dt.datetime) -> int:
    """Raise each SLA breach once (escalated to the agency's administrators) and complete the
    expired applications of services that issue on expiry; returns how many changed."""
    changed = 0
    for application in await store.open_applications(db):
        if application.get("paused_at"):
            continue
        try:
            changed += await _check_one(db, calendar=calendar, application=application, now=now)
        except (VersionConflict, Problem):
            continue  # changed meanwhile, or its service version is missing: next round
    return changed


async def _check_one(
    db: Db, *, calendar: WorkingCalendar, application: Document, now: dt.datetime
) -> int:
    breaches = list(application.get("breaches", []))
    found = []
    state_due = application.get("state_due_at")
    state_key = f"state:{application['state']}:{application['state_entered_at'].isoformat()}"
    if state_due is not None and now > state_due and state_key not in breaches:
        found.append(("state", state_due, state_key))
    overall_due = application["overall_due_at"]
    if now > overall_due and "overall" not in breaches:
        found.append(("overall", overall_due, "overall"))
    service = None
    if now > overall_due:
        service = await rules.published_version(db, application)
    auto_issue = (
        service is not None
        and service.workflow is not None
        and (service.workflow.auto_issue_on_expiry)
    )
    if not found and not auto_issue:
        return 0
    events = [
        rules.event_of(
            "sla_breached",
            SlaBreached(**rules.facts_of(application), clock=clock, breached_due_at=due),
        )
        for clock, due, _ in found
    ]
    if events:
        application = await store.update(
            db,
            application_id=application["_id"],
            expected_version=application["version"],
            fields={"breaches": breaches + [key for *_, key in found], "escalated": True},
            new_events=events,
        )
    if auto_issue and service is not None and service.workflow is not None:
        # A decision not taken in time is deemed granted (UU 30/2014, fiktif positif).
        await rules.transition(
            db,
            calendar=calendar,
            application=application,
            workflow=service.workflow,
            service=service,
            target="completed",
            action="auto_complete",
            actor="system",
            actor_role="system",
            note=None,
            automatic=True,
            now=now,
        )
    return 1
