"""Every query of complaints: the complaints, their timelines, the lists and their counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Row,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    text,
)
from sqlalchemy import (
    update as sa_update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from applications.complaints.models import (
    FORWARDED,
    RECEIVED,
    RESPONDED,
    ComplaintCounts,
    ComplaintLine,
    ComplaintRecord,
    ComplaintScope,
    StoredComplaint,
)
from applications.store import metadata
from mpp_shared import db, outbox, pagination
from mpp_shared.events import Event

Moment = DateTime(timezone=True)

complaints = Table(
    "complaints",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tracking_id", Text, nullable=False, unique=True),
    # What the public tracking page asks for beside the (guessable) id: see `numbers`.
    Column("check_code", Text, nullable=False),
    Column("citizen_id", Text, nullable=False),
    Column("idempotency_key", Text),
    Column("request_fingerprint", Text),
    Column("application_id", Text),
    Column("agency", Text),
    Column("subject", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("category", Text),
    Column("state", Text, nullable=False),
    Column("open", Boolean, nullable=False),
    Column("filed_at", Moment, nullable=False),
    Column("updated_at", Moment, nullable=False),
    Column("forward_due_at", Moment, nullable=False),
    Column("forwarded_at", Moment),
    Column("response_due_at", Moment),
    Column("responded_at", Moment),
    Column("closes_at", Moment),
    Column("closed_at", Moment),
    Column("due_at", Moment),
    Column("overdue", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("citizen_id", "idempotency_key"),
    Index("ix_complaints_citizen_id_filed_at_id", "citizen_id", "filed_at", "id"),
    Index("ix_complaints_agency_filed_at_id", "agency", "filed_at", "id"),
    Index("ix_complaints_filed_at_id", "filed_at", "id"),
    Index("ix_complaints_open_due_at", "due_at", postgresql_where=text("open")),
    Index("ix_complaints_open_closes_at", "closes_at", postgresql_where=text("open")),
)

complaint_timeline = Table(
    "complaint_timeline",
    metadata,
    Column("line", BigInteger, Identity(always=True), primary_key=True),
    Column("complaint_id", Text, ForeignKey("complaints.id"), nullable=False),
    Column("at", Moment, nullable=False),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_role", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("message", Text),
    Index("ix_complaint_timeline_complaint_id_line", "complaint_id", "line"),
)

RECORD = [complaints.c[name] for name in ComplaintRecord.model_fields]
STORED = [*RECORD, complaints.c.description, complaints.c.request_fingerprint]
LINE = [complaint_timeline.c[name] for name in ComplaintLine.model_fields]


async def _stored(connection: AsyncConnection, row: Row[Any] | None) -> StoredComplaint | None:
    if row is None:
        return None
    lines = await connection.execute(
        select(*LINE)
        .where(complaint_timeline.c.complaint_id == row.id)
        .order_by(complaint_timeline.c.line)
    )
    timeline = [ComplaintLine.model_validate(line._mapping) for line in lines]
    return StoredComplaint.model_validate({**row._mapping, "timeline": timeline})


async def find(connection: AsyncConnection, complaint_id: str) -> StoredComplaint | None:
    """A complaint by id, with its timeline, or None."""
    found = await connection.execute(select(*STORED).where(complaints.c.id == complaint_id))
    return await _stored(connection, found.first())


async def by_tracking_id(connection: AsyncConnection, tracking_id: str) -> StoredComplaint | None:
    """The complaint a tracking id names, or None."""
    found = await connection.execute(select(*STORED).where(complaints.c.tracking_id == tracking_id))
    return await _stored(connection, found.first())


async def insert(
    connection: AsyncConnection,
    complaint: StoredComplaint,
    *,
    idempotency_key: str | None,
    new_events: Sequence[Event],
) -> bool:
    """A new complaint with its timeline and events; False when its id or its citizen's
    idempotency key exists (another request with that key won)."""
    inserted = await connection.execute(
        pg_insert(complaints)
        .values(**complaint.model_dump(exclude={"timeline"}), idempotency_key=idempotency_key)
        .on_conflict_do_nothing()
        .returning(complaints.c.id)
    )
    if inserted.first() is None:
        return False
    await _add_lines(connection, complaint.id, complaint.timeline)
    await outbox.record(connection, new_events)
    return True


async def update(
    connection: AsyncConnection,
    *,
    complaint_id: str,
    expected_version: int,
    changes: dict[str, Any],
    new_events: Sequence[Event],
    line: ComplaintLine,
) -> StoredComplaint:
    """Change a complaint still at `expected_version`, appending a timeline line and recording
    its events; else VersionConflict (another action won)."""
    changed = await connection.execute(
        sa_update(complaints)
        .where(complaints.c.id == complaint_id, complaints.c.version == expected_version)
        .values(**changes, version=complaints.c.version + 1)
        .returning(*STORED)
    )
    row = changed.first()
    if row is None:
        raise db.VersionConflict(complaint_id)
    await _add_lines(connection, complaint_id, [line])
    await outbox.record(connection, new_events)
    stored = await _stored(connection, row)
    assert stored is not None
    return stored


async def _add_lines(
    connection: AsyncConnection, complaint_id: str, lines: Sequence[ComplaintLine]
) -> None:
    if lines:
        await connection.execute(
            complaint_timeline.insert(),
            [{"complaint_id": complaint_id, **line.model_dump()} for line in lines],
        )


# --- lists and the clock check -------------------------------------------------------------------


def _within(scope: ComplaintScope) -> list[ColumnElement[bool]]:
    c = complaints.c
    where: list[ColumnElement[bool]] = []
    if scope.citizen_id is not None:
        where.append(c.citizen_id == scope.citizen_id)
    if scope.agency is not None:
        where.append(c.agency == scope.agency)
    if scope.forwarded_only:
        where.append(c.forwarded_at.is_not(None))
    return where


async def listed(
    connection: AsyncConnection,
    scope: ComplaintScope,
    *,
    state: str | None,
    cursor: str | None,
    limit: int,
) -> list[ComplaintRecord]:
    """The complaints in scope (in one state when given), newest first, `limit + 1` of them
    after the cursor."""
    query = select(*RECORD).where(*_within(scope))
    if state is not None:
        query = query.where(complaints.c.state == state)
    query = pagination.keyset(
        query,
        order_by=[complaints.c.filed_at, complaints.c.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return [ComplaintRecord.model_validate(row._mapping) for row in await connection.execute(query)]


async def counts(
    connection: AsyncConnection, scope: ComplaintScope, *, now: dt.datetime
) -> ComplaintCounts:
    """How many complaints in scope are open, in each state, and overdue to forward or answer."""
    c = complaints.c
    late = c.overdue | (c.due_at < now)
    found = await connection.execute(
        select(
            c.state,
            func.count().label("total"),
            func.count().filter(c.open).label("open"),
            func.count().filter(c.open, late).label("overdue"),
        )
        .where(*_within(scope))
        .group_by(c.state)
    )
    rows = found.all()
    overdue = {r.state: r.overdue for r in rows}
    return ComplaintCounts(
        open=sum(r.open for r in rows),
        by_state={r.state: r.total for r in rows},
        overdue_forward=overdue.get(RECEIVED, 0),
        overdue_response=overdue.get(FORWARDED, 0),
    )


async def clocks_run_out(connection: AsyncConnection, now: dt.datetime) -> list[ComplaintRecord]:
    """The open complaints a clock ran out for by `now`: answered ones to close, and those
    whose forwarding or response deadline passed unnoted."""
    c = complaints.c
    found = await connection.execute(
        select(*RECORD)
        .where(
            c.open,
            or_(
                and_(c.state == RESPONDED, c.closes_at < now),
                and_(c.state.in_([RECEIVED, FORWARDED]), ~c.overdue, c.due_at < now),
            ),
        )
        .order_by(c.id)
    )
    return [ComplaintRecord.model_validate(row._mapping) for row in found]
