"""Every query of surveys: one row per rated application, keyed by the application's id.

Each element's score is a column, so the index figures are sums the database adds up per
service, never the surveys themselves read one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from applications.store import metadata
from applications.surveys.models import Scores, ScoreTotals, SurveyRecord
from mpp_shared import outbox
from mpp_shared.events import Event

ELEMENTS = list(Scores.model_fields)  # u1 ... u9

surveys = Table(
    "surveys",
    metadata,
    Column("application_id", Text, primary_key=True),  # one survey per application
    Column("citizen_id", Text, nullable=False),
    Column("service_id", Text, nullable=False),
    Column("service_slug", Text, nullable=False),
    Column("service_version", Integer, nullable=False),
    Column("agency", Text, nullable=False),
    *(Column(code, SmallInteger, nullable=False) for code in ELEMENTS),
    Column("comment", Text),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(
        " AND ".join(f"{code} BETWEEN 1 AND 4" for code in ELEMENTS), name="scores_1_to_4"
    ),
    Index("ix_surveys_service_id_submitted_at", "service_id", "submitted_at"),
    Index("ix_surveys_service_slug_submitted_at", "service_slug", "submitted_at"),
    Index("ix_surveys_agency_submitted_at", "agency", "submitted_at"),
)

COLUMNS = [surveys.c[name] for name in SurveyRecord.model_fields if name != "scores"]


async def insert(
    connection: AsyncConnection, survey: SurveyRecord, new_events: Sequence[Event]
) -> bool:
    """A new survey with its events; False when the application was already rated."""
    values = survey.model_dump(exclude={"scores"}) | survey.scores.model_dump()
    inserted = await connection.execute(
        pg_insert(surveys)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(surveys.c.application_id)
    )
    if inserted.first() is None:
        return False
    await outbox.record(connection, new_events)
    return True


async def find(connection: AsyncConnection, application_id: str) -> SurveyRecord | None:
    """The survey of an application, or None."""
    found = await connection.execute(
        select(*COLUMNS, *(surveys.c[code] for code in ELEMENTS)).where(
            surveys.c.application_id == application_id
        )
    )
    row = found.first()
    if row is None:
        return None
    values = dict(row._mapping)
    scores = {code: values.pop(code) for code in ELEMENTS}
    return SurveyRecord.model_validate(values | {"scores": scores})


async def score_totals(
    connection: AsyncConnection,
    *,
    service: str | None = None,
    agency: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[ScoreTotals]:
    """Per agency and service, the respondents and each element's total score of the surveys
    selected (a service by id or slug)."""
    c = surveys.c
    query = select(
        c.agency,
        c.service_id,
        func.min(c.service_slug).label("service_slug"),
        func.count().label("respondents"),
        *(func.sum(c[code]).label(code) for code in ELEMENTS),
    )
    if service:
        query = query.where((c.service_id == service) | (c.service_slug == service))
    if agency:
        query = query.where(c.agency == agency)
    if since:
        query = query.where(c.submitted_at >= since)
    if until:
        query = query.where(c.submitted_at < until)
    found = await connection.execute(
        query.group_by(c.agency, c.service_id).order_by(c.agency, c.service_id)
    )
    return [
        ScoreTotals(
            agency=row.agency,
            service_id=row.service_id,
            service_slug=row.service_slug,
            respondents=row.respondents,
            totals={code: int(row._mapping[code]) for code in ELEMENTS},
        )
        for row in found
    ]
