"""The audit log: every read of citizens' personal data by staff or partners.

Lines are written off the request's path: a read answers without waiting for its audit line's
commit, and lines that arrive while a write is under way go together in the next one. Writing
them one transaction per read cost the officer's inbox a third of the gateway's CPU per call.
A failed write is retried, the lines kept in memory (up to `MAX_PENDING`), and a stopping
gateway writes what it holds before it ends. A process killed outright loses what it had not
yet written: at most the lines of the last few milliseconds.
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Counter, Gauge
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from gateway.identity import store
from gateway.identity.accounts import Identity
from gateway.identity.store import AuditRecord
from mpp_shared import pagination

log = logging.getLogger(__name__)

MAX_PENDING = 100_000
BATCH = 500
DROPPED = Counter(
    "mpp_gateway_audit_lines_dropped_total",
    "Audit lines dropped because too many were waiting to be written (the store was away)",
)
PENDING = Gauge("mpp_gateway_audit_lines_pending", "Audit lines waiting to be written")


class AuditLog:
    """Appends audit lines in batches, in the order they were recorded."""

    def __init__(self, identity: Identity, *, retry_max_seconds: float = 5.0) -> None:
        self.identity = identity
        self.retry_max_seconds = retry_max_seconds
        self._pending: list[AuditRecord] = []
        self._wake = asyncio.Event()
        self._written = asyncio.Event()
        self._written.set()
        self._task: asyncio.Task[None] | None = None

    def record(self, entry: AuditRecord) -> None:
        """Queue one line; it is written within moments."""
        if len(self._pending) >= MAX_PENDING:
            DROPPED.inc()
            log.error("audit line dropped: %d lines are waiting to be written", MAX_PENDING)
            return
        self._pending.append(entry)
        PENDING.set(len(self._pending))
        self._written.clear()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-log")

    async def flush(self, *, timeout: float = 5.0) -> None:
        """Wait until every line recorded so far is written (or `timeout` passes)."""
        try:
            await asyncio.wait_for(self._written.wait(), timeout)
        except TimeoutError:
            log.warning("audit lines still waiting after %.1f s: %d", timeout, len(self._pending))

    async def close(self) -> None:
        """Write what is waiting, then stop."""
        if self._task is None:
            return
        await self.flush()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:BATCH]
                await self._write(batch)
                del self._pending[: len(batch)]
                PENDING.set(len(self._pending))
            self._written.set()

    async def _write(self, batch: list[AuditRecord]) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(multiplier=0.1, max=self.retry_max_seconds, jitter=0.1),
            before_sleep=lambda state: log.warning(
                "writing %d audit lines failed, retrying: %r",
                len(batch),
                state.outcome.exception() if state.outcome else None,
            ),
        )
        async for attempt in retrying:
            with attempt:
                async with self.identity.begin() as connection:
                    await store.record_accesses(connection, batch)


async def audit_entries(
    identity: Identity, *, actor: str | None, cursor: str | None, limit: int
) -> pagination.Page[AuditRecord]:
    """Reads of personal data by staff, newest first."""
    async with identity.begin() as connection:
        return await store.audit_entries(connection, actor=actor, cursor=cursor, limit=limit)
