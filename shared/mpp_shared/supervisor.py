"""Background loops that cannot die silently.

Every loop a service runs beside its API (the outbox relay, the consumer, the SLA clocks, the
sending loop, the clean-ups) runs under a `Supervisor`. Whatever ends a loop with an exception,
of any class, is logged with its traceback and counted, and the loop is started again after a
pause that doubles with each failure in a row (from half a second up to half a minute).

A loop calls `beat()` after each round that did what it is there for (a batch published, a poll
that reached its store and bus). Once a loop has gone `stale_after` seconds without such a round
(it crashed and is waiting to start again, it hangs in a call, or each of its rounds fails),
`/ready` says so and `mpp_background_loop_stalled` is 1: an operator sees it before citizens do.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

log = logging.getLogger(__name__)

LAST_SUCCESS = Gauge(
    "mpp_background_loop_last_success_timestamp_seconds",
    "When a background loop last finished a good round (Unix time)",
    ["loop"],
)
RESTARTS = Counter(
    "mpp_background_loop_restarts_total",
    "Background loops started again after an exception ended them",
    ["loop"],
)
STALLED = Gauge(
    "mpp_background_loop_stalled",
    "1 while a background loop has gone longer than it should without a good round",
    ["loop"],
)

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 30.0


@dataclass
class Heartbeat:
    """One loop's health: when it last finished a good round, and its failures since."""

    name: str
    stale_after: float
    last_success: float = field(default_factory=time.monotonic)  # a start has its grace
    failures: int = 0

    def beat(self) -> None:
        """A round did what the loop is there for."""
        self.last_success = time.monotonic()
        self.failures = 0
        LAST_SUCCESS.labels(self.name).set(time.time())

    def silent_for(self) -> float:
        """Seconds since the last good round (or since the loop was started)."""
        return time.monotonic() - self.last_success

    def stalled(self) -> bool:
        return self.silent_for() > self.stale_after


Body = Callable[[Heartbeat], Awaitable[None]]


class Supervisor:
    """Runs loops, starts each again when an exception ends it, and says which have stalled."""

    def __init__(self) -> None:
        self.loops: dict[str, Heartbeat] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, body: Body, *, stale_after: float) -> asyncio.Task[None]:
        """Run `body(heartbeat)` until it returns (asked to stop) or is cancelled; an exception
        starts it again. `stale_after`: how long without a good round is a stall."""
        heartbeat = Heartbeat(name, stale_after)
        self.loops[name] = heartbeat
        STALLED.labels(name).set(0)
        task = asyncio.create_task(self._keep(heartbeat, body), name=name)
        self.tasks.append(task)
        return task

    def stalled(self) -> dict[str, float]:
        """The loops that have stalled, with the seconds since their last good round."""
        found = {}
        for name, heartbeat in self.loops.items():
            stalled = heartbeat.stalled()
            STALLED.labels(name).set(1 if stalled else 0)
            if stalled:
                found[name] = heartbeat.silent_for()
        return found

    async def _keep(self, heartbeat: Heartbeat, body: Body) -> None:
        # A cancel is a BaseException, not an Exception: it ends the loop, as it should.
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            wait=lambda _: _pause(heartbeat.failures),
            before_sleep=lambda state: _failed(heartbeat, state),
        )
        async for attempt in retrying:
            with attempt:
                await body(heartbeat)


def _pause(failures: int) -> float:
    """Half a second after the first failure in a row (`failures` counts those before it),
    doubling, at most half a minute; with a little jitter so that replicas that failed together
    do not start again together."""
    pause: float = min(LONGEST_PAUSE, FIRST_PAUSE * 2**failures)
    return pause * random.uniform(0.8, 1.0)  # noqa: S311 - jitter, not a secret


def _failed(heartbeat: Heartbeat, state: RetryCallState) -> None:
    heartbeat.failures += 1
    RESTARTS.labels(heartbeat.name).inc()
    error = state.outcome.exception() if state.outcome else None
    log.error(
        "background loop %s ended by %s; starting it again (failure %d in a row)",
        heartbeat.name,
        type(error).__name__,
        heartbeat.failures,
        exc_info=error,
    )
