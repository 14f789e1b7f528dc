"""Every query of the documents service's database about citizens' documents; the tables of
issued outputs (`documents.outputs.store`) join the same metadata.

Tables: `documents` (uploads' metadata; the blobs are in S3), `document_links` (which application,
of which agency, refers to a document), `document_access` (one line per access, never changed),
`requirement_limits` (from the catalog's events: what an upload is checked against), the outbox
and the inbox. Each state change is an UPDATE guarded by the state it starts from, so of two
concurrent actions on a document exactly one changes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Select,
    Table,
    Text,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from documents.outputs import store as outputs_store
from mpp_shared import db, inbox, outbox, pagination

Connection = AsyncConnection

metadata = db.metadata()
outbox.table(metadata)
inbox.table(metadata)
for _table in outputs_store.metadata.tables.values():
    _table.to_metadata(metadata)

documents = Table(
    "documents",
    metadata,
    Column("id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("status", Text, nullable=False),  # pending, available, rejected, deleted
    Column("filename", Text, nullable=False),
    Column("service", Text),
    Column("requirement", Text),
    Column("content_type", Text),
    Column("size", Integer),
    Column("declared_size", Integer),  # a presigned upload's announced size
    Column("sha256", Text),
    Column("object_key", Text),
    Column("upload_key", Text),  # where a presigned upload is POSTed before it is checked
    Column("attached", Boolean, nullable=False),
    Column("reason", Text),
    Column("reason_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_documents_owner_created_at_id", "owner", "created_at", "id"),
    Index("ix_documents_attached_created_at", "attached", "created_at"),
)

document_links = Table(
    "document_links",
    metadata,
    Column("document_id", Text, ForeignKey("documents.id"), primary_key=True),
    Column("application_id", Text, primary_key=True),
    Column("agency", Text, nullable=False),
)

document_access = Table(
    "document_access",
    metadata,
    Column("id", Text, primary_key=True),
    Column("document_id", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_role", Text, nullable=False),
    Column("actor_agency", Text),
    Column("action", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_document_access_document_id_at_id", "document_id", "at", "id"),
)

requirement_limits = Table(
    "requirement_limits",
    metadata,
    Column("service_ref", Text, primary_key=True),  # a service's slug or id: uploads name either
    Column("requirement", Text, primary_key=True),
    Column("max_size_mb", Integer, nullable=False),
    Column("formats", ARRAY(Text), nullable=False),
)


class Record(BaseModel):
    """A row as the service layer sees it."""

    model_config = ConfigDict(frozen=True)


class Document(Record):
    """A citizen's document's metadata."""

    id: str
    owner: str
    status: str
    filename: str
    service: str | None = None
    requirement: str | None = None
    content_type: str | None = None
    size: int | None = None
    declared_size: int | None = None
    sha256: str | None = None
    object_key: str | None = None
    upload_key: str | None = None
    attached: bool = False
    reason: str | None = None
    reason_id: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    # The agencies handling an application that refers to it: their officers may read it.
    agencies: tuple[str, ...] = ()


class Access(Record):
    """One access to a document."""

    at: dt.datetime
    actor: str
    actor_role: str
    actor_agency: str | None
    action: str


class Limits(Record):
    """The size and formats a service's requirement accepts."""

    max_size_mb: int
    formats: list[str]


# --- documents ----------------------------------------------------------------------------------

_AGENCIES = (
    select(func.array_agg(document_links.c.agency.distinct()))
    .where(document_links.c.document_id == documents.c.id)
    .scalar_subquery()
)


def _documents() -> Select[Any]:
    return select(*documents.c, func.coalesce(_AGENCIES, text("'{}'")).label("agencies"))


def _document(row: Any) -> Document:
    return Document.model_validate(row, from_attributes=True)


async def find(connection: Connection, document_id: str) -> Document | None:
    """A document's metadata by id."""
    row = (await connection.execute(_documents().where(documents.c.id == document_id))).first()
    return _document(row) if row else None


async def add(connection: Connection, document: Document) -> bool:
    """A new document; False when its id exists (a retried request)."""
    values = document.model_dump(exclude={"agencies"})
    inserted = await connection.execute(
        insert(documents)
        .values(values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(documents.c.id)
    )
    return inserted.first() is not None


async def settle(connection: Connection, document_id: str, **fields: Any) -> Document | None:
    """Finish a pending upload (available or rejected); None when it is not pending any more."""
    changed = await connection.execute(
        update(documents)
        .where(documents.c.id == document_id, documents.c.status == "pending")
        .values(**fields)
        .returning(documents.c.id)
    )
    return await find(connection, document_id) if changed.first() else None


async def mark_deleted(connection: Connection, document_id: str, *, now: dt.datetime) -> bool:
    """Mark a document no application refers to deleted; False when it is attached or gone."""
    changed = await connection.execute(
        update(documents)
        .where(
            documents.c.id == document_id,
            documents.c.status != "deleted",
            documents.c.attached.is_(False),
        )
        .values(status="deleted", updated_at=now)
        .returning(documents.c.id)
    )
    return changed.first() is not None


async def attach(
    connection: Connection, *, document_ids: Sequence[str], application_id: str, agency: str
) -> None:
    """Documents an application refers to: kept, and readable by its agency."""
    if not document_ids:
        return
    given = {"ids": list(document_ids), "application_id": application_id, "agency": agency}
    await connection.execute(_LINK, given)
    await connection.execute(_MARK_ATTACHED, {"ids": given["ids"]})


# Built once, run for every application event: SQLAlchemy keys its statement cache per statement
# object, and building these per call was half of what the documents service did per event.
_LINK = (
    insert(document_links)
    .from_select(
        ["document_id", "application_id", "agency"],
        select(
            documents.c.id,
            bindparam("application_id", type_=Text),
            bindparam("agency", type_=Text),
        ).where(documents.c.id.in_(bindparam("ids", expanding=True))),
    )
    .on_conflict_do_nothing()
)
_MARK_ATTACHED = (
    update(documents)
    .where(documents.c.id.in_(bindparam("ids", expanding=True)), documents.c.attached.is_(False))
    .values(attached=True)
)


async def of_owner(
    connection: Connection, owner: str, *, cursor: str | None, limit: int
) -> list[Document]:
    """A citizen's documents that are not deleted, newest first, `limit + 1` of them."""
    query = pagination.keyset(
        _documents().where(documents.c.owner == owner, documents.c.status != "deleted"),
        order_by=[documents.c.created_at, documents.c.id],
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return [_document(row) for row in await connection.execute(query)]


async def unattached_before(connection: Connection, moment: dt.datetime) -> list[Document]:
    """Documents never attached to an application, uploaded before `moment`."""
    query = _documents().where(
        documents.c.attached.is_(False),
        documents.c.created_at < moment,
        documents.c.status.in_(["pending", "available", "rejected"]),
    )
    return [_document(row) for row in await connection.execute(query)]


async def log_access(connection: Connection, *, id: str, document: Document, **line: Any) -> None:
    """One line of the access log."""
    await connection.execute(
        insert(document_access).values(id=id, document_id=document.id, owner=document.owner, **line)
    )


async def access_log(connection: Connection, document_id: str) -> list[Access]:
    """Every access to a document, oldest first."""
    query = (
        select(document_access)
        .where(document_access.c.document_id == document_id)
        .order_by(document_access.c.at, document_access.c.id)
    )
    return [
        Access.model_validate(row, from_attributes=True) for row in await connection.execute(query)
    ]


# --- the catalog's limits ---------------------------------------------------------------------


async def limits(connection: Connection, service: str, requirement: str) -> Limits | None:
    """The size and format limits of one requirement of a service (by slug or id)."""
    query = select(requirement_limits.c.max_size_mb, requirement_limits.c.formats).where(
        requirement_limits.c.service_ref == service,
        requirement_limits.c.requirement == requirement,
    )
    row = (await connection.execute(query)).first()
    return Limits.model_validate(row, from_attributes=True) if row else None


async def replace_limits(
    connection: Connection, *, service_refs: Sequence[str], by_requirement: dict[str, Limits]
) -> None:
    """A published service's requirements' limits, by requirement code, under each reference."""
    await connection.execute(
        delete(requirement_limits).where(requirement_limits.c.service_ref.in_(service_refs))
    )
    rows = [
        {"service_ref": ref, "requirement": code, **limit.model_dump()}
        for ref in service_refs
        for code, limit in by_requirement.items()
    ]
    if rows:
        await connection.execute(insert(requirement_limits), rows)
