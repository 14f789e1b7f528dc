"""Background loops under the supervisor: whatever ends them, they start again, and a loop that
stops doing its work is reported."""

from __future__ import annotations

import asyncio

from mpp_shared import supervisor
from mpp_shared.supervisor import Heartbeat, Supervisor


async def test_a_loop_ended_by_any_exception_is_started_again_and_counted() -> None:
    runs: list[int] = []
    stop = asyncio.Event()

    async def body(heartbeat: Heartbeat) -> None:
        runs.append(heartbeat.failures)
        if len(runs) == 1:
            raise ZeroDivisionError("a bug no handler expected")
        if len(runs) == 2:
            raise KeyError("another")
        heartbeat.beat()
        await stop.wait()

    restarts = supervisor.RESTARTS.labels("flaky")._value.get()
    running = Supervisor()
    task = running.start("flaky", body, stale_after=60)
    for _ in range(100):
        if len(runs) == 3:
            break
        await asyncio.sleep(0.05)
    # Started again twice, the second time after a longer pause; a good round clears the count.
    assert runs == [0, 1, 2]
    assert running.loops["flaky"].failures == 0
    assert supervisor.RESTARTS.labels("flaky")._value.get() == restarts + 2
    assert running.stalled() == {}
    stop.set()
    await asyncio.wait_for(task, 5)  # a body that returns has finished: not started again
    assert len(runs) == 3


async def test_a_loop_without_a_good_round_for_too_long_is_reported_stalled() -> None:
    async def busy_doing_nothing(heartbeat: Heartbeat) -> None:
        await asyncio.sleep(3600)

    async def healthy(heartbeat: Heartbeat) -> None:
        while True:
            heartbeat.beat()
            await asyncio.sleep(0.01)

    running = Supervisor()
    tasks = [
        running.start("stuck", busy_doing_nothing, stale_after=0.2),
        running.start("healthy", healthy, stale_after=0.2),
    ]
    assert running.stalled() == {}  # a loop just started has its grace
    await asyncio.sleep(0.3)
    stalled = running.stalled()
    assert list(stalled) == ["stuck"] and stalled["stuck"] >= 0.2
    assert supervisor.STALLED.labels("stuck")._value.get() == 1
    assert supervisor.STALLED.labels("healthy")._value.get() == 0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_the_pause_before_a_new_start_doubles_up_to_half_a_minute() -> None:
    pauses = [supervisor._pause(failures) for failures in range(10)]
    assert 0.4 <= pauses[0] <= 0.5
    assert 0.8 <= pauses[1] <= 1.0
    assert 24 <= pauses[9] <= 30
