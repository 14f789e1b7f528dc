"""The audit log: every read of citizens' personal data by staff or partners."""

from __future__ import annotations

from gateway.identity import store
from gateway.identity.accounts import Identity
from gateway.identity.store import AuditRecord
from mpp_shared import pagination


async def record_access(identity: Identity, entry: AuditRecord) -> None:
    """Append one line to the audit log of reads of personal data."""
    async with identity.begin() as connection:
        await store.record_access(connection, entry)


async def audit_entries(
    identity: Identity, *, actor: str | None, cursor: str | None, limit: int
) -> pagination.Page[AuditRecord]:
    """Reads of personal data by staff, newest first."""
    async with identity.begin() as connection:
        return await store.audit_entries(connection, actor=actor, cursor=cursor, limit=limit)
