"""The store gives what the outbox and version guards rely on: atomic single-document updates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient

from mpp_shared import outbox
from mpp_shared.settings import ServiceSettings


async def test_concurrent_updates_of_one_document_are_all_applied(
    make_settings: Callable[..., ServiceSettings], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    things = mongo[make_settings("probe8").database_name].things
    await things.insert_one({"_id": "t", "n": 0, "items": list(range(50))})
    await asyncio.gather(
        *(things.update_one({"_id": "t"}, {"$inc": {"n": 1}}) for _ in range(100)),
        *(things.update_one({"_id": "t"}, {"$set": {f"f{i}": i}}) for i in range(50)),
        *(things.update_one({"_id": "t"}, {"$pullAll": {"items": [i]}}) for i in range(50)),
    )
    stored = await things.find_one({"_id": "t"})
    assert stored is not None
    assert stored["n"] == 100
    assert sum(1 for key in stored if key.startswith("f")) == 50
    assert stored["items"] == []


async def test_of_racing_changes_at_one_version_exactly_one_wins(
    make_settings: Callable[..., ServiceSettings], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    things = mongo[make_settings("probe9").database_name].things
    await things.insert_one(outbox.new_document({"_id": "t", "state": "submitted"}, []))

    async def act(n: int) -> bool:
        try:
            await outbox.apply_change(
                things, id="t", expected_version=1, set_fields={"state": f"by-{n}"}, new_events=[]
            )
        except outbox.VersionConflict:
            return False
        return True

    outcomes = await asyncio.gather(*(act(n) for n in range(20)))
    stored = await things.find_one({"_id": "t"})
    assert outcomes.count(True) == 1
    assert stored is not None and stored["version"] == 2
    assert stored["state"] == f"by-{outcomes.index(True)}"
