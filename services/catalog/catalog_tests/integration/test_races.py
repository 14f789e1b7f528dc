"""Concurrent writes to the catalog, with real concurrency on the real database: one winner."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from ..conftest import body, service_input


async def test_of_two_concurrent_publishes_of_one_draft_exactly_one_wins(
    catalog: httpx.AsyncClient, create: Callable[..., Any], admin: dict[str, str]
) -> None:
    draft = (await create()).json()
    etag = (
        await catalog.get(f"/api/v1/catalog/services/{draft['slug']}/draft", headers=admin)
    ).headers["ETag"]
    answers = await asyncio.gather(
        *(
            catalog.post(
                f"/api/v1/catalog/services/{draft['slug']}/publish",
                headers=admin | {"If-Match": etag},
            )
            for _ in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 412, 412, 412]
    versions = await catalog.get(f"/api/v1/catalog/services/{draft['slug']}")
    assert versions.json()["version"] == 1


async def test_concurrent_creations_under_one_idempotency_key_create_one_service(
    catalog: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = body(service_input())
    headers = admin | {"Idempotency-Key": "create-service-race-01"}
    answers = await asyncio.gather(
        *(catalog.post("/api/v1/catalog/services", json=data, headers=headers) for _ in range(5))
    )
    assert Counter(a.status_code for a in answers) == {201: 1, 200: 4}
    assert len({a.json()["id"] for a in answers}) == 1


async def test_of_two_services_racing_for_one_slug_one_gets_it_and_the_other_a_409(
    catalog: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first, second = service_input(), service_input()
    second = second.model_copy(update={"slug": first.slug})
    answers = await asyncio.gather(
        catalog.post("/api/v1/catalog/services", json=body(first), headers=admin),
        catalog.post("/api/v1/catalog/services", json=body(second), headers=admin),
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
