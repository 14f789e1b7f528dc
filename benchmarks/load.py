"""Load shapes the benchmarks share: a fixed request rate (open loop) and back-to-back calls.

Open loop: request n starts at `n / rate` seconds whether or not the earlier ones have finished,
and its latency counts from that planned start, so a server that falls behind shows the queue in
its percentiles instead of quietly slowing the client down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable

from results import Measured


async def open_loop(
    name: str, action: Callable[[int], Awaitable[None]], *, rate: float, seconds: float
) -> Measured:
    """`action(n)` started `rate` times a second for `seconds`; failures counted, not raised.
    The rate achieved (completions over the time until the last one ended) is `achieved`."""
    count = max(1, round(rate * seconds))
    latencies: list[float] = []
    errors: list[BaseException] = []
    # What the client holds so far is out of the garbage collector's sight, as in the services
    # (`mpp_shared.web`): a full collection's pause here would count as the services' latency.
    gc.collect()
    gc.freeze()
    begin = time.perf_counter()

    async def one(n: int, planned: float) -> None:
        try:
            await action(n)
        except Exception as exc:  # a failed request is counted, the run goes on
            errors.append(exc)
            return
        latencies.append((time.perf_counter() - planned) * 1000)

    tasks = []
    for n in range(count):
        planned = begin + n / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, planned)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - begin
    for exc in errors[:3]:
        print(f"    {name}: {exc!r}"[:300], flush=True)
    return Measured(name, latencies, errors=len(errors), achieved=len(latencies) / elapsed)


async def back_to_back(
    name: str, action: Callable[[int], Awaitable[None]], *, count: int, concurrency: int = 1
) -> Measured:
    """`count` calls of `action(n)`, `concurrency` at a time, each as soon as a slot is free."""
    latencies: list[float] = []
    errors = 0
    numbers = iter(range(count))

    async def worker() -> None:
        nonlocal errors
        for n in numbers:
            started = time.perf_counter()
            try:
                await action(n)
            except Exception as exc:
                errors += 1
                if errors <= 3:
                    print(f"    {name}: {exc!r}"[:300], flush=True)
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - begin
    rate = len(latencies) / elapsed
    return Measured(name, latencies, rate=rate, unit="per second", errors=errors)
