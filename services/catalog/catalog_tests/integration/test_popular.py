"""The home's first services: those citizens applied to most lately, counted from applications'
events (each counted once however often it is delivered), then the mall's featured ones."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx

from catalog.search_cache import SearchCache
from mpp_shared import events, topics
from mpp_shared.contracts.applications import ApplicationSubmitted
from mpp_shared.testing import feeder

from ..conftest import AGENCY, service_input


def submitted(service_id: str) -> events.Event:
    application_id = f"app-{secrets.token_hex(6)}"
    facts = ApplicationSubmitted(
        application_id=application_id,
        tracking_number=f"SNJ-{AGENCY}-20261205-{secrets.randbelow(999999):06d}",
        service_id=service_id,
        service_version=1,
        agency=AGENCY,
        citizen_id=f"citizen-{secrets.token_hex(4)}",
        state="submitted",
        document_ids=[],
    )
    return events.new_event(facts, source=topics.source_of("applications"), subject=application_id)


async def published(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> dict[str, Any]:
    draft = (await create(service_input())).json()
    done = await catalog.post(f"/api/v1/catalog/services/{draft['id']}/publish", headers=admin)
    assert done.status_code == 200, done.text
    return dict(done.json())


async def test_most_applied_first_then_featured_each_event_counted_once(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    a, b, c, d = [await published(catalog, create, admin) for _ in range(4)]
    feed = feeder(catalog)
    twice = submitted(b["id"])
    # b: 3 applications, one of its events delivered twice; a: 2; c and d: none.
    await feed(twice, twice, submitted(b["id"]), submitted(b["id"]))
    await feed(submitted(a["id"]), submitted(a["id"]))
    cache: SearchCache = catalog.app.state.search  # type: ignore[attr-defined]
    engine = catalog.app.state.runtime.engine  # type: ignore[attr-defined]

    # Other tests of this run count applications too: look at these four only.
    ours = {a["id"], b["id"], c["id"], d["id"]}
    first = await cache.popular(engine, days=30, featured=[d["slug"], "not-published"], limit=20)
    ranked = [s.id for s in first if s.id in ours]
    assert ranked == [b["id"], a["id"], d["id"]], "most applied first, then featured"

    # Featured fill up to the limit, without repeating a service already shown.
    only_featured = await cache.popular(engine, days=30, featured=[a["slug"]], limit=20)
    assert [s.id for s in only_featured].count(a["id"]) == 1


async def test_the_home_endpoint_answers_publicly_and_bounds_its_limit(
    catalog: httpx.AsyncClient,
) -> None:
    found = await catalog.get("/api/v1/catalog/popular", params={"limit": 3})
    assert found.status_code == 200, found.text
    assert len(found.json()) <= 3
    assert "public" in found.headers["Cache-Control"]
    too_many = await catalog.get("/api/v1/catalog/popular", params={"limit": 500})
    assert too_many.status_code == 422
    assert too_many.headers["Content-Type"].startswith("application/problem+json")


async def test_categories_say_how_many_published_services_each_has(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    def civil_status(found: httpx.Response) -> int:
        return next(c["services"] for c in found.json() if c["code"] == "civil_status")

    before = civil_status(await catalog.get("/api/v1/catalog/categories"))
    await published(catalog, create, admin)
    await create(service_input())  # a draft is not counted
    assert civil_status(await catalog.get("/api/v1/catalog/categories")) == before + 1


async def test_the_whole_list_goes_from_a_to_z_page_by_page(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    for name in ("Zakat Uji", "akta Uji", "Izin Uji", "Ömer Uji", "Balik Nama Uji") * 2:
        draft = (await create(service_input(name={"id": name, "en": name}))).json()
        done = await catalog.post(f"/api/v1/catalog/services/{draft['id']}/publish", headers=admin)
        assert done.status_code == 200, done.text
    names: list[str] = []
    ids: list[str] = []
    cursor = None
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        found = await catalog.get("/api/v1/catalog/services", params=params)
        assert found.status_code == 200, found.text
        names += [s["name"]["id"].casefold() for s in found.json()["items"]]
        ids += [s["id"] for s in found.json()["items"]]
        cursor = found.json()["next_cursor"]
        if not cursor:
            break
    assert names == sorted(names)
    assert len(ids) == len(set(ids)) > 7  # more than one page, none twice

    for garbage in ("bm90IGpzb24", "WzEsMl0", "%%%"):  # "not json", "[1,2]", not base64
        refused = await catalog.get("/api/v1/catalog/services", params={"cursor": garbage})
        assert refused.status_code == 400, (garbage, refused.text)
