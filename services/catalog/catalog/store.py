"""Every query of the catalog's database.

Tables: `agencies` and `services` (each row with a `version` that guards concurrent edits),
`service_versions` (each published version, immutable, because applications refer to the version
they were made under), `catalog_state` (the search generation every replica watches), and the
outbox. A service's content is kept as JSONB: its shape is the catalog's own (the 14 components,
form schema, workflow), and nothing queries inside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from mpp_shared import db, inbox, outbox, pagination
from mpp_shared.db import VersionConflict
from mpp_shared.events import Event

Connection = AsyncConnection

metadata = db.metadata()
outbox.table(metadata)
inbox.table(metadata)

agencies = Table(
    "agencies",
    metadata,
    Column("id", Text, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    # The agency as administrators wrote it (AgencyInput): names, contact, counters and hours.
    Column("content", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("id", Text, primary_key=True),
    Column("slug", Text, nullable=False, unique=True),
    Column("agency", Text, nullable=False),
    Column("status", Text, nullable=False),
    # The published version's channels, for the agency check of counter-visit services.
    Column("channels", ARRAY(Text), nullable=False, server_default="{}"),
    Column("published_version", Integer),
    Column("current", JSONB),  # the published content (ServiceInput)
    Column("draft", JSONB),  # the content administrators edit before publishing it
    Column("published_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("request_fingerprint", Text, nullable=False),
    Index("ix_services_status_agency", "status", "agency"),
)

service_versions = Table(
    "service_versions",
    metadata,
    Column("service_id", Text, ForeignKey("services.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("snapshot", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)

# How many applications each service received a day, from applications' `submitted` events: what
# the citizen app's home puts first. The rows of a year are a few tens of thousands.
demand = Table(
    "demand",
    metadata,
    Column("service_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("applications", Integer, nullable=False),
    Index("ix_demand_day", "day"),
)

catalog_state = Table(
    "catalog_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("search_generation", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)


class Record(BaseModel):
    """A row as the service layer sees it."""

    model_config = ConfigDict(frozen=True)


class AgencyRecord(Record):
    id: str
    code: str
    kind: str
    content: dict[str, Any]
    version: int
    updated_at: dt.datetime


class ServiceRecord(Record):
    id: str
    slug: str
    agency: str
    status: str
    channels: list[str]
    published_version: int | None
    current: dict[str, Any] | None
    draft: dict[str, Any] | None
    published_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    request_fingerprint: str


class VersionRecord(Record):
    service_id: str
    version: int
    snapshot: dict[str, Any]
    published_at: dt.datetime


# --- agencies ----------------------------------------------------------------------------------


async def find_agency(connection: Connection, *, code: str) -> AgencyRecord | None:
    """An agency by its code."""
    row = (await connection.execute(select(agencies).where(agencies.c.code == code))).first()
    return AgencyRecord.model_validate(row._mapping) if row else None


async def list_agencies(
    connection: Connection, *, kind: str | None, cursor: str | None, limit: int
) -> list[AgencyRecord]:
    """Agencies in code order after the cursor, `limit + 1` of them."""
    query = select(agencies)
    if kind:
        query = query.where(agencies.c.kind == kind)
    query = pagination.keyset(query, order_by=[agencies.c.code], cursor=cursor, limit=limit)
    return [AgencyRecord.model_validate(r._mapping) for r in await connection.execute(query)]


async def agency_names(connection: Connection) -> dict[str, list[str]]:
    """Every agency's names (Indonesian, English, short), by code: words the search knows."""
    rows = await connection.execute(
        select(
            agencies.c.code,
            agencies.c.content["name"]["id"].astext,
            agencies.c.content["name"]["en"].astext,
            agencies.c.content["short_name"].astext,
        )
    )
    return {
        code: [name_id or "", name_en or "", short or ""] for code, name_id, name_en, short in rows
    }


async def insert_agency(
    connection: Connection, record: AgencyRecord, new_events: Sequence[Event]
) -> bool:
    """Insert a new agency with its events; False when its code exists already."""
    inserted = await connection.execute(
        insert(agencies)
        .values(record.model_dump())
        .on_conflict_do_nothing()
        .returning(agencies.c.id)
    )
    if inserted.first() is None:
        return False
    await outbox.record(connection, new_events)
    return True


async def update_agency(
    connection: Connection,
    *,
    agency_id: str,
    expected_version: int,
    values: dict[str, Any],
    new_events: Sequence[Event],
) -> AgencyRecord:
    """Change an agency if it is still at `expected_version`; else VersionConflict."""
    row = (
        await connection.execute(
            update(agencies)
            .where(agencies.c.id == agency_id, agencies.c.version == expected_version)
            .values(values | {"version": expected_version + 1})
            .returning(*agencies.c)
        )
    ).first()
    if row is None:
        raise VersionConflict(agency_id)
    await outbox.record(connection, new_events)
    return AgencyRecord.model_validate(row._mapping)


# --- services ----------------------------------------------------------------------------------


async def find_service(
    connection: Connection, *, id_or_slug: str, for_update: bool = False
) -> ServiceRecord | None:
    """A service by id or slug, with its draft and current published version."""
    query = select(services).where(or_(services.c.id == id_or_slug, services.c.slug == id_or_slug))
    if for_update:
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    return ServiceRecord.model_validate(row._mapping) if row else None


async def insert_service(connection: Connection, record: ServiceRecord) -> bool:
    """Insert a new service; False when its id (a retried command) or its slug exists."""
    inserted = await connection.execute(
        insert(services)
        .values(record.model_dump())
        .on_conflict_do_nothing()
        .returning(services.c.id)
    )
    return inserted.first() is not None


async def update_service(
    connection: Connection,
    *,
    service_id: str,
    expected_version: int,
    values: dict[str, Any],
    new_events: Sequence[Event],
) -> ServiceRecord:
    """Change a service if it is still at `expected_version`; else VersionConflict."""
    row = (
        await connection.execute(
            update(services)
            .where(services.c.id == service_id, services.c.version == expected_version)
            .values(values | {"version": expected_version + 1})
            .returning(*services.c)
        )
    ).first()
    if row is None:
        raise VersionConflict(service_id)
    await outbox.record(connection, new_events)
    return ServiceRecord.model_validate(row._mapping)


async def published_services(connection: Connection) -> list[ServiceRecord]:
    """Every published service, for the search index and lists."""
    rows = await connection.execute(select(services).where(services.c.status == "published"))
    return [ServiceRecord.model_validate(r._mapping) for r in rows]


async def published_slugs(connection: Connection, *, agency: str, channel: str) -> list[str]:
    """The slugs of an agency's published services offered on a channel."""
    rows = await connection.execute(
        select(services.c.slug)
        .where(
            services.c.agency == agency,
            services.c.status == "published",
            services.c.channels.any_() == channel,
        )
        .order_by(services.c.slug)
    )
    return list(rows.scalars())


async def count_application(connection: Connection, *, service_id: str, day: dt.date) -> None:
    """One more application to `service_id` on `day`."""
    added = insert(demand).values(service_id=service_id, day=day, applications=1)
    await connection.execute(
        added.on_conflict_do_update(
            index_elements=[demand.c.service_id, demand.c.day],
            set_={"applications": demand.c.applications + 1},
        )
    )


async def most_applied(connection: Connection, *, since: dt.date, limit: int) -> list[str]:
    """The ids of the services with the most applications from `since` on, most first."""
    total = func.sum(demand.c.applications)
    rows = await connection.execute(
        select(demand.c.service_id)
        .where(demand.c.day >= since)
        .group_by(demand.c.service_id)
        .order_by(total.desc(), demand.c.service_id)
        .limit(limit)
    )
    return [row.service_id for row in rows]


async def save_version(connection: Connection, record: VersionRecord) -> None:
    """Keep a published version; saving it again (a retried publish) changes nothing."""
    await connection.execute(
        insert(service_versions).values(record.model_dump()).on_conflict_do_nothing()
    )


async def find_version(
    connection: Connection, *, service_id: str, version: int
) -> VersionRecord | None:
    """One published version of a service."""
    row = (
        await connection.execute(
            select(service_versions).where(
                service_versions.c.service_id == service_id,
                service_versions.c.version == version,
            )
        )
    ).first()
    return VersionRecord.model_validate(row._mapping) if row else None


async def bump_search_generation(connection: Connection) -> None:
    """Note that the published catalog changed, so every replica rebuilds its search index."""
    await connection.execute(
        insert(catalog_state)
        .values(id=1, search_generation=1)
        .on_conflict_do_update(
            index_elements=[catalog_state.c.id],
            set_={"search_generation": catalog_state.c.search_generation + 1},
        )
    )


async def search_generation(connection: Connection) -> int:
    """The published catalog's current generation."""
    found = await connection.execute(select(catalog_state.c.search_generation))
    return int(found.scalar() or 0)
