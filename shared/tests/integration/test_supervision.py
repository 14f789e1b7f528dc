"""A service's background loops survive errors nobody expected, and `/ready` tells a stall."""

from __future__ import annotations

import asyncio

import pytest

from mpp_shared import db, events, outbox, runtime
from mpp_shared.kafka import ensure_topics
from mpp_shared.supervisor import Heartbeat
from mpp_shared.testing import read_topic

from .conftest import PROBE_MIGRATIONS, Probe
from .test_event_pipeline import counted


async def test_a_relay_ended_by_an_unexpected_error_starts_again_and_publishes(
    probe: Probe, kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = probe.settings.topic(f"{probe.settings.service_name}.events")
    await ensure_topics(kafka, [topic], partitions=1)
    publish = outbox.Relay.publish_pending
    failures = []

    async def twice_broken(relay: outbox.Relay) -> int:
        if len(failures) < 2:
            failures.append(1)
            raise ValueError("an error of no class the relay waits out")
        return await publish(relay)

    monkeypatch.setattr(outbox.Relay, "publish_pending", twice_broken)
    async with runtime.run(probe.settings, migrations=PROBE_MIGRATIONS) as running:
        event = counted(probe.settings, "after-the-bug")
        async with db.transaction(probe.engine) as connection:
            await outbox.record(connection, [event])
        records = await read_topic(kafka, topic, until=lambda r: len(r) >= 1, timeout=30)
        assert [events.from_json(r.value or b"").id for r in records] == [event.id]
        assert len(failures) == 2
        assert (await running.check())["loops"] == "ok"


async def test_ready_names_a_loop_that_stopped_doing_its_work(probe: Probe) -> None:
    async def stuck(heartbeat: Heartbeat) -> None:
        await asyncio.sleep(3600)

    async with runtime.run(probe.settings, migrations=PROBE_MIGRATIONS) as running:
        running.tasks.append(running.supervisor.start("stuck loop", stuck, stale_after=0.3))
        await asyncio.sleep(0.5)
        running._ready_cache = (0.0, {})
        loops = (await running.check())["loops"]
        assert loops.startswith("stalled: stuck loop (")
