"""The applications service's read model of issued outputs, from `documents.events`: which
document was issued for which application, so the application's page links to it once it
exists (and says when it is revoked)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, DateTime, Table, Text, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications.store import metadata
from mpp_shared.contracts.documents import OutputIssued, OutputRevoked
from mpp_shared.events import Event
from mpp_shared.kafka import Handlers

issued_outputs = Table(
    "issued_outputs",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("output_id", Text, nullable=False, unique=True),
    Column("verification_code", Text, nullable=False),
    Column("status", Text, nullable=False),  # valid, revoked
    Column("issued_at", DateTime(timezone=True), nullable=False),
)


class IssuedOutput(BaseModel):
    """An application's output as the documents service announced it."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    output_id: str
    verification_code: str
    status: Literal["valid", "revoked"]
    issued_at: dt.datetime


async def output_of(engine: AsyncEngine, application_id: str) -> IssuedOutput | None:
    """The output issued for an application, if any."""
    query = select(issued_outputs).where(issued_outputs.c.application_id == application_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return IssuedOutput.model_validate(row._mapping) if row else None


async def on_issued(facts: OutputIssued, event: Event, connection: AsyncConnection) -> None:
    """An output was issued for an application."""
    await connection.execute(
        pg_insert(issued_outputs)
        .values(
            application_id=facts.application_id,
            output_id=facts.output_id,
            verification_code=facts.verification_code,
            status="valid",
            issued_at=facts.issued_at,
        )
        .on_conflict_do_nothing(index_elements=[issued_outputs.c.application_id])
    )


async def on_revoked(facts: OutputRevoked, event: Event, connection: AsyncConnection) -> None:
    """An output is no longer valid (its issued event came before: they share a key)."""
    await connection.execute(
        update(issued_outputs)
        .where(issued_outputs.c.output_id == facts.output_id)
        .values(status="revoked")
    )


HANDLERS: Handlers = {
    OutputIssued: on_issued,
    OutputRevoked: on_revoked,
}
