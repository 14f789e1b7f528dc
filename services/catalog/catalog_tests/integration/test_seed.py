"""The launch regency's catalog loads into the real store, every service publishable, twice = once."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from catalog import seed, store
from catalog.settings import Settings


async def test_seed_passes_every_publishing_check_and_loading_twice_changes_nothing(
    catalog_settings: Settings, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[f"{catalog_settings.namespace}_seedcheck"]
    first = await seed.load(db)
    services = seed.load_services()
    assert first["agencies created"] == len(seed.load_agencies())
    assert first["services published"] == len(services)
    assert await seed.check(db) == []

    second = await seed.load(db)
    assert second == {
        "agencies created": 0,
        "agencies updated": 0,
        "services published": 0,
        "services unchanged": len(services),
    }
    published = await store.published_services(db)
    assert {d["slug"] for d in published} == {s.slug for s in services}
    assert all(d["published_version"] == 1 for d in published)


def test_seed_covers_the_regency_mall() -> None:
    services = seed.load_services()
    applicable = [s for s in services if {"online", "booking"} & set(s.channels)]
    assert len(seed.load_agencies()) >= 27
    assert len(applicable) >= 97
    assert len({s.agency for s in applicable}) >= 20
    by_slug = {s.slug: s for s in services}
    assert by_slug["akta-kelahiran"].standard.fee.free
    assert not by_slug["pembayaran-pbb"].standard.fee.free, "a tax on the bill is not free"
    assert by_slug["sim-c-perpanjangan"].standard.fee.amount == 75_000
    sip = [s for s in services if s.workflow and s.workflow.auto_issue_on_expiry]
    assert sip and all(s.workflow and s.workflow.sla_days == 5 for s in sip)
