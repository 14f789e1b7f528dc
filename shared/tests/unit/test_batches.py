"""The batch writer: records in order, and a lingering writer gathers a burst into one write."""

from __future__ import annotations

import asyncio

from mpp_shared.batches import BatchWriter


async def test_a_lingering_writer_writes_a_burst_in_one_go_and_in_order() -> None:
    writes: list[list[int]] = []

    async def write(batch: list[int]) -> None:
        writes.append(list(batch))

    writer: BatchWriter[int] = BatchWriter("test-linger", write, linger_seconds=0.05)
    writer.start()
    for n in range(10):
        writer.record(n)
        await asyncio.sleep(0.001)  # a burst of separate requests, not one call
    await writer.close()
    assert writes == [list(range(10))]


async def test_without_linger_each_wake_writes_what_is_there() -> None:
    writes: list[list[int]] = []

    async def write(batch: list[int]) -> None:
        writes.append(list(batch))

    writer: BatchWriter[int] = BatchWriter("test-eager", write)
    writer.start()
    for n in range(3):
        writer.record(n)
        await asyncio.sleep(0.01)
    await writer.close()
    assert [n for batch in writes for n in batch] == [0, 1, 2]
    assert len(writes) == 3
