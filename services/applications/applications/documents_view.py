"""The applications service's read model of citizens' documents, from `documents.events`: which
documents exist, whose they are and whether they passed their checks. A submission attaches
only documents known here as the citizen's own and available."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Table, Text, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, retry_if_result, stop_after_delay, wait_exponential

from applications.store import metadata
from mpp_shared import db
from mpp_shared.contracts.documents import DocumentDeleted, DocumentRejected, DocumentUploaded
from mpp_shared.events import Event
from mpp_shared.kafka import Handlers

citizen_documents = Table(
    "citizen_documents",
    metadata,
    Column("document_id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("status", Text, nullable=False),  # available, rejected, deleted
    Column("content_type", Text),
    Column("requirement", Text),
    Column("reason", Text),
)


class KnownDocument(BaseModel):
    """A citizen's document as the documents service announced it."""

    model_config = ConfigDict(frozen=True)

    document_id: str
    owner: str
    status: Literal["available", "rejected", "deleted"]
    reason: str | None = None


# Built once, the ids a parameter: a statement built per submission cost its construction and
# its cache key every time.
_KNOWN = select(
    citizen_documents.c.document_id,
    citizen_documents.c.owner,
    citizen_documents.c.status,
    citizen_documents.c.reason,
).where(citizen_documents.c.document_id.in_(bindparam("ids", expanding=True)))


async def documents(connection: AsyncConnection, ids: list[str]) -> dict[str, KnownDocument]:
    """The known documents among `ids`, by id."""
    if not ids:
        return {}
    found = await connection.execute(_KNOWN, {"ids": list(set(ids))})
    return {row.document_id: KnownDocument.model_validate(row._mapping) for row in found}


# Right after an upload, the documents service's event saying the document passed its checks may
# still be on its way here (a few hundred milliseconds; seconds under load). A submission naming
# such a document waits for it this long, rather than refusing a document the citizen has just
# uploaded and making the phone guess whether to try again.
WAIT_FOR_UPLOADS_SECONDS = 4.0


async def wait_until_known(
    engine: AsyncEngine, ids: list[str], *, seconds: float = WAIT_FOR_UPLOADS_SECONDS
) -> None:
    """Return once every document of `ids` is known here, or after `seconds` (what is still
    unknown then is refused by the submission's own checks)."""
    if not ids:
        return

    async def unknown() -> bool:
        async with db.reading(engine) as connection:
            return len(await documents(connection, ids)) < len(set(ids))

    await AsyncRetrying(
        stop=stop_after_delay(seconds),
        wait=wait_exponential(multiplier=0.05, max=0.5),
        retry=retry_if_result(bool),
        retry_error_callback=lambda state: None,
    )(unknown)


async def _unless_deleted(connection: AsyncConnection, **values: str | None) -> None:
    """Record what is known of a document; a deletion is final."""
    upsert = pg_insert(citizen_documents).values(**values)
    await connection.execute(
        upsert.on_conflict_do_update(
            index_elements=[citizen_documents.c.document_id],
            set_={name: upsert.excluded[name] for name in values if name != "document_id"},
            where=citizen_documents.c.status != "deleted",
        )
    )


async def on_uploaded(facts: DocumentUploaded, event: Event, connection: AsyncConnection) -> None:
    """A document passed its checks: the citizen may attach it."""
    await _unless_deleted(
        connection,
        document_id=facts.document_id,
        owner=facts.owner,
        status="available",
        content_type=facts.content_type,
        requirement=facts.requirement,
    )


async def on_rejected(facts: DocumentRejected, event: Event, connection: AsyncConnection) -> None:
    """A document failed its checks, with the reason shown to the citizen."""
    await _unless_deleted(
        connection,
        document_id=facts.document_id,
        owner=facts.owner,
        status="rejected",
        reason=facts.reason,
    )


async def on_deleted(facts: DocumentDeleted, event: Event, connection: AsyncConnection) -> None:
    """A document was deleted: it may never be attached again."""
    deleted = {"owner": facts.owner, "status": "deleted", "content_type": None}
    deleted |= {"requirement": None, "reason": None}
    upsert = pg_insert(citizen_documents).values(document_id=facts.document_id, **deleted)
    await connection.execute(
        upsert.on_conflict_do_update(index_elements=[citizen_documents.c.document_id], set_=deleted)
    )


HANDLERS: Handlers = {
    DocumentUploaded: on_uploaded,
    DocumentRejected: on_rejected,
    DocumentDeleted: on_deleted,
}
