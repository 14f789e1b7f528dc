"""The complaint clocks of SP4N-LAPOR!: deadlines to forward and to answer noted once when
they pass, and answers the citizen did not reply to closed after 10 working days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications.complaints import store
from applications.complaints.models import CLOSED, RECEIVED, RESPONDED, ComplaintRecord
from applications.complaints.service import line_of
from applications.complaints.workflow import closing, transition
from applications.workdays import WorkingCalendar
from mpp_shared import db
from mpp_shared.contracts.applications import ComplaintClosed
from mpp_shared.problems import Problem


async def check_clocks(engine: AsyncEngine, *, calendar: WorkingCalendar, now: dt.datetime) -> int:
    """Act on the complaint clocks that ran out by `now`; returns how many complaints changed.

    A complaint answered 10 working days ago without a reply closes (ComplaintClosed,
    automatic). A forwarding or response deadline that passed is noted once on the complaint
    (a flag and a timeline line, no event), so the lists count it and nothing is said twice.
    """
    async with engine.connect() as connection:
        run_out = await store.clocks_run_out(connection, now)
    changed = 0
    for complaint in run_out:
        try:
            async with db.transaction(engine) as connection:
                changed += await _check_one(connection, complaint=complaint, now=now)
        except (db.VersionConflict, Problem):
            continue  # changed meanwhile (the version guard): next round
    return changed


async def _check_one(
    connection: AsyncConnection, *, complaint: ComplaintRecord, now: dt.datetime
) -> int:
    if complaint.state == RESPONDED:
        await transition(
            connection,
            complaint=complaint,
            caller=None,
            action="auto_close",
            state=CLOSED,
            fields=closing(now),
            message=None,
            contract=ComplaintClosed,
            now=now,
            automatic=True,
        )
        return 1
    # The flag notes this clock's overdue once; forwarding or a reply starts a new clock.
    action = "forward_overdue" if complaint.state == RECEIVED else "response_overdue"
    await store.update(
        connection,
        complaint_id=complaint.id,
        expected_version=complaint.version,
        changes={"overdue": True},
        new_events=[],
        line=line_of(now, action, "system", "system", complaint.state, None),
    )
    return 1
