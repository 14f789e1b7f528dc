"""The SLA clocks: each deadline's breach raised once and escalated to the agency's
administrators; applications of services that issue on expiry completed by the system."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications import catalog_view, store
from applications import service as rules
from applications.models import ApplicationRecord
from applications.workdays import WorkingCalendar
from applications.workflow import transition
from mpp_shared import db
from mpp_shared.contracts.applications import SlaBreached
from mpp_shared.contracts.catalog import LocalizedText, ServicePublished
from mpp_shared.pii import Vault
from mpp_shared.problems import Problem


async def check_clocks(
    engine: AsyncEngine,
    *,
    calendar: WorkingCalendar,
    now: dt.datetime,
    output_vault: Vault | None = None,
) -> int:
    """Raise each SLA breach once (escalated to the agency's administrators) and complete the
    expired applications of services that issue on expiry (their outputs' content sealed with
    `output_vault`); returns how many changed."""
    async with engine.connect() as connection:
        due = await store.due_by(connection, now)
    versions: rules.Versions = {}
    changed = 0
    for application in due:
        try:
            async with db.transaction(engine) as connection:
                changed += await _check_one(
                    connection,
                    calendar=calendar,
                    application=application,
                    now=now,
                    versions=versions,
                    output_vault=output_vault,
                )
        except (db.VersionConflict, Problem):
            continue  # changed meanwhile, or its service version is missing: next round
    return changed


async def _check_one(
    connection: AsyncConnection,
    *,
    calendar: WorkingCalendar,
    application: ApplicationRecord,
    now: dt.datetime,
    versions: rules.Versions,
    output_vault: Vault | None,
) -> int:
    breaches = application.breaches
    found = []
    state_due = application.state_due_at
    state_key = f"state:{application.state}:{application.state_entered_at.isoformat()}"
    if state_due is not None and now > state_due and state_key not in breaches:
        found.append(("state", state_due, state_key))
    overall_due = application.overall_due_at
    if now > overall_due and "overall" not in breaches:
        found.append(("overall", overall_due, "overall"))
    service: ServicePublished | None = None
    if now > overall_due:
        key = (application.service_id, application.service_version)
        if key not in versions:
            versions[key] = await rules.published_version(connection, application)
        service = versions[key]
    auto_issue = (
        service is not None
        and service.workflow is not None
        and (service.workflow.auto_issue_on_expiry)
    )
    if not found and not auto_issue:
        return 0
    stored = await store.find(connection, application.id)
    if stored is None or stored.version != application.version:
        return 0  # changed since the list was read: next round
    if found:
        # The state's name for the people told; its service version lost from the read model
        # must not hold the escalation back (they are told the state's code then).
        described = service or await catalog_view.service_version(
            connection, application.service_id, application.service_version
        )
        stored = await store.update(
            connection,
            application_id=stored.id,
            expected_version=stored.version,
            changes={"breaches": [*breaches, *(key for *_, key in found)], "escalated": True},
            new_events=[
                rules.event_of(
                    SlaBreached(
                        **rules.facts_of(stored),
                        clock=clock,
                        breached_due_at=due,
                        state_label=_label(described, stored.state),
                    ),
                )
                for clock, due, _ in found
            ],
        )
    if auto_issue and service is not None:
        # A decision not taken in time is deemed granted (UU 30/2014, fiktif positif).
        await transition(
            connection,
            calendar=calendar,
            application=stored,
            service=service,
            target="completed",
            action="auto_complete",
            actor="system",
            actor_role="system",
            note=None,
            automatic=True,
            now=now,
            output_vault=output_vault,
        )
    return 1


def _label(service: ServicePublished | None, state: str) -> LocalizedText | None:
    """The state's name in its service's workflow, if the version is known."""
    if service is None or service.workflow is None:
        return None
    return next((s.label for s in service.workflow.states if s.code == state), None)
