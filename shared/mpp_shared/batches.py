"""Writing small records off the request's path, in batches, in the order they came.

A read answers without waiting for its record's commit, and records that arrive while a write is
under way go together in the next one (one transaction per read cost the officer's inbox a third
of the gateway's CPU per call). A failed write is retried, the records kept in memory (up to
`max_pending`), and a stopping process writes what it holds before it ends. A process killed
outright loses what it had not yet written: at most the records of the last few milliseconds
(or of the last `linger_seconds`, for a writer that waits to gather more).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

log = logging.getLogger(__name__)

Item = TypeVar("Item")

DROPPED = Counter(
    "mpp_batched_records_dropped_total",
    "Records dropped because too many were waiting to be written (the store was away)",
    ["writer"],
)
PENDING = Gauge("mpp_batched_records_pending", "Records waiting to be written", ["writer"])


class BatchWriter(Generic[Item]):
    """Queues records and hands them to `write` in batches, in the order they were queued."""

    def __init__(
        self,
        name: str,
        write: Callable[[list[Item]], Awaitable[None]],
        *,
        batch: int = 500,
        max_pending: int = 100_000,
        retry_max_seconds: float = 5.0,
        linger_seconds: float = 0.0,
    ) -> None:
        self.name = name
        # How long a write waits for more records to join it: fewer, larger transactions.
        self.linger_seconds = linger_seconds
        self.write = write
        self.batch = batch
        self.max_pending = max_pending
        self.retry_max_seconds = retry_max_seconds
        self._pending: list[Item] = []
        self._wake = asyncio.Event()
        self._written = asyncio.Event()
        self._written.set()
        self._task: asyncio.Task[None] | None = None
        self._dropped = DROPPED.labels(name)
        self._gauge = PENDING.labels(name)

    def record(self, item: Item) -> None:
        """Queue one record; it is written within moments."""
        if len(self._pending) >= self.max_pending:
            self._dropped.inc()
            log.error(
                "%s: record dropped: %d are waiting to be written", self.name, len(self._pending)
            )
            return
        self._pending.append(item)
        self._gauge.set(len(self._pending))
        self._written.clear()
        self._wake.set()

    def start(self) -> None:
        """Start writing in the background."""
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def flush(self, *, timeout: float = 5.0) -> None:
        """Wait until every record queued so far is written (or `timeout` passes)."""
        try:
            await asyncio.wait_for(self._written.wait(), timeout)
        except TimeoutError:
            log.warning("%s: %d still waiting after %.1f s", self.name, len(self._pending), timeout)

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
            if self.linger_seconds:
                await asyncio.sleep(self.linger_seconds)
            self._wake.clear()
            while self._pending:
                batch = self._pending[: self.batch]
                await self._write(batch)
                del self._pending[: len(batch)]
                self._gauge.set(len(self._pending))
            self._written.set()

    async def _write(self, batch: list[Item]) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential_jitter(multiplier=0.1, max=self.retry_max_seconds, jitter=0.1),
            before_sleep=lambda state: log.warning(
                "%s: writing %d failed, retrying: %r",
                self.name,
                len(batch),
                state.outcome.exception() if state.outcome else None,
            ),
        )
        async for attempt in retrying:
            with attempt:
                await self.write(batch)
