"""The audit log: every read of citizens' personal data by staff or partners.

The services record the reads they serve (`mpp_shared.read_audit`, as events the gateway keeps
here); the gateway records the reads it serves itself (a citizen's identity). Its own lines are
written off the request's path, in batches (`mpp_shared.batches`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.identity import store
from gateway.identity.accounts import Identity
from gateway.identity.store import AuditRecord
from mpp_shared import contracts, pagination
from mpp_shared.batches import BatchWriter
from mpp_shared.contracts.reads import PersonalDataRead
from mpp_shared.events import Event
from mpp_shared.kafka import Handlers


class AuditLog(BatchWriter[AuditRecord]):
    """Appends audit lines in batches, in the order they were recorded."""

    def __init__(self, identity: Identity, *, retry_max_seconds: float = 5.0) -> None:
        super().__init__("audit-log", self._append, retry_max_seconds=retry_max_seconds)
        self.identity = identity

    async def _append(self, batch: list[AuditRecord]) -> None:
        async with self.identity.begin() as connection:
            await store.record_accesses(connection, batch)


async def on_read(read: PersonalDataRead, event: Event, connection: AsyncConnection) -> None:
    """A service's audit line of a read it served, into the log (once: the inbox sees to it)."""
    await store.record_accesses(connection, [AuditRecord(id=event.id, **read.model_dump())])


HANDLERS: Handlers = {
    model: on_read
    for _, model in contracts.load_all().values()
    if issubclass(model, PersonalDataRead)
}


async def audit_entries(
    identity: Identity, *, actor: str | None, cursor: str | None, limit: int
) -> pagination.Page[AuditRecord]:
    """Reads of personal data by staff, newest first."""
    async with identity.begin() as connection:
        return await store.audit_entries(connection, actor=actor, cursor=cursor, limit=limit)
