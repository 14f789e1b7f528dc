"""The applications service's read model of citizens' names, from `identity.events`: the name an
officer's inbox and an application's page show, so everyday work needs no call for the citizen's
identity (which the gateway audits and limits). Nothing else of the citizen is kept here.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Table, Text, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from applications.store import metadata
from mpp_shared.contracts.identity import CitizenContact, CitizenRegistered, CitizenUpdated
from mpp_shared.events import Event
from mpp_shared.kafka import Handlers

citizen_names = Table(
    "citizen_names",
    metadata,
    Column("citizen_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
)

# Built once, the ids a parameter (see documents_view).
_NAMES = select(citizen_names.c.citizen_id, citizen_names.c.name).where(
    citizen_names.c.citizen_id.in_(bindparam("ids", expanding=True))
)


async def names(connection: AsyncConnection, citizen_ids: Iterable[str]) -> dict[str, str]:
    """The known names among `citizen_ids`, by citizen id."""
    ids = list(set(citizen_ids))
    if not ids:
        return {}
    found = await connection.execute(_NAMES, {"ids": ids})
    return {row.citizen_id: row.name for row in found}


async def on_citizen(facts: CitizenContact, event: Event, connection: AsyncConnection) -> None:
    """Keep the name a citizen registered with or changed to (one citizen's events come in
    order: they share the citizen's key)."""
    statement = pg_insert(citizen_names).values(citizen_id=facts.citizen_id, name=facts.name)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[citizen_names.c.citizen_id], set_={"name": statement.excluded.name}
        )
    )


HANDLERS: Handlers = {
    CitizenRegistered: on_citizen,
    CitizenUpdated: on_citizen,
}
