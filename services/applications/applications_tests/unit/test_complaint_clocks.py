"""Who sees a complaint, who may act on it in which state, and when it counts as overdue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from applications.complaints.models import ComplaintRecord, ComplaintScope
from applications.complaints.service import allowed_actions, list_query, may_read, overdue
from applications.workdays import WorkingCalendar
from mpp_shared.auth import Principal

OWNER = Principal(subject="c-1", role="citizen")
STRANGER = Principal(subject="c-2", role="citizen")
OFFICER = Principal(subject="o-1", role="officer", agency="UJI")
OTHER_OFFICER = Principal(subject="o-2", role="officer", agency="LAIN")
ADMIN = Principal(subject="a-1", role="mpp_admin")
VIEWER = Principal(subject="v-1", role="ops_viewer")
PARTNER = Principal(subject="p-1", role="partner", agency="UJI")


def complaint(state: str, **fields: Any) -> ComplaintRecord:
    filed = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    forwarded = None if state == "received" else dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    values: dict[str, Any] = {
        "id": "adu-1",
        "tracking_id": "ADU-SNJ-20261120-000001",
        "check_code": "K7QX4M",
        "citizen_id": "c-1",
        "application_id": None,
        "agency": "UJI",
        "subject": "Pungutan liar",
        "category": None,
        "state": state,
        "open": state != "closed",
        "filed_at": filed,
        "updated_at": filed,
        "forward_due_at": filed,
        "forwarded_at": forwarded,
        "response_due_at": None,
        "responded_at": None,
        "closes_at": None,
        "closed_at": None,
        "due_at": None,
        "overdue": False,
        "version": 1,
    }
    return ComplaintRecord.model_validate(values | fields)


def test_the_agency_sees_a_complaint_only_once_it_is_forwarded() -> None:
    received, forwarded = complaint("received"), complaint("forwarded")
    assert [may_read(p, received) for p in (OWNER, STRANGER, OFFICER, ADMIN, VIEWER, PARTNER)] == [
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    assert [may_read(p, forwarded) for p in (OFFICER, OTHER_OFFICER)] == [True, False]
    assert list_query(OFFICER, agency="LAIN") == ComplaintScope(agency="UJI", forwarded_only=True)
    assert list_query(OWNER, agency=None) == ComplaintScope(citizen_id="c-1")
    assert list_query(VIEWER, agency="UJI") == ComplaintScope(agency="UJI")


@pytest.mark.parametrize(
    ("state", "caller", "actions"),
    [
        ("received", ADMIN, ["forward", "close"]),
        ("received", OWNER, ["close"]),
        ("received", VIEWER, []),
        ("forwarded", OFFICER, ["respond"]),
        ("forwarded", OTHER_OFFICER, []),
        ("forwarded", ADMIN, ["close"]),
        ("responded", OWNER, ["reply", "close"]),
        ("responded", OFFICER, []),
        ("closed", OWNER, []),
        ("closed", ADMIN, []),
    ],
)
def test_actions_depend_on_role_and_state(
    state: str, caller: Principal, actions: list[str]
) -> None:
    assert allowed_actions(caller, complaint(state)) == actions


def test_overdue_means_past_the_deadline_the_mall_or_agency_owes() -> None:
    calendar = WorkingCalendar("Asia/Makassar")
    filed = dt.datetime(2026, 11, 27, 2, tzinfo=dt.UTC)  # a Friday morning in Sinjai
    due = calendar.add(filed, 3)
    assert calendar.local_date(due) == dt.date(2026, 12, 2), "Mon, Tue, Wed: weekends do not count"
    waiting = complaint("received", due_at=due)
    assert not overdue(waiting, due)
    assert overdue(waiting, due + dt.timedelta(seconds=1))
    noted = waiting.model_copy(update={"overdue": True})
    assert overdue(noted, filed), "as noted by the clock check"
    answered = complaint("responded", due_at=None, closes_at=due)
    assert not overdue(answered, due + dt.timedelta(days=30)), "the citizen owes nothing"
