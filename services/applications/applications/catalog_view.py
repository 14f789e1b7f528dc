"""The applications service's own read model of the catalog, built from `catalog.events`.

Submissions are checked against the published service version held here, so they keep working
while the catalog is down. Snapshots are stored as JSON text (form schemas hold `$` keys) and
found by `_id`: services by id, slugs to ids, each published version, agencies by code. An event
older than what is held (a replay of the compacted topic) changes nothing.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared import idempotency
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished, ServiceWithdrawn
from mpp_shared.events import Event
from mpp_shared.kafka import Handler

Db = AsyncDatabase[dict[str, Any]]

SERVICES = "catalog_services"
VERSIONS = "catalog_service_versions"
SLUGS = "catalog_slugs"
AGENCIES = "catalog_agencies"


async def service(db: Db, ref: str) -> tuple[ServicePublished, bool] | None:
    """The latest published version of a service by id or slug, and whether it takes
    applications (False once withdrawn)."""
    found = await db[SERVICES].find_one({"_id": ref})
    if found is None:
        slug = await db[SLUGS].find_one({"_id": ref})
        found = await db[SERVICES].find_one({"_id": slug["service_id"]}) if slug else None
    if found is None:
        return None
    return ServicePublished.model_validate_json(found["snapshot"]), found["status"] == "published"


async def service_version(db: Db, service_id: str, version: int) -> ServicePublished | None:
    """One published version of a service, as applications made under it were checked."""
    found = await db[VERSIONS].find_one({"_id": f"{service_id}:{version}"})
    return ServicePublished.model_validate_json(found["snapshot"]) if found else None


async def agency(db: Db, code: str) -> AgencyUpserted | None:
    """An agency's latest public facts (its counters and their hours)."""
    found = await db[AGENCIES].find_one({"_id": code})
    return AgencyUpserted.model_validate_json(found["snapshot"]) if found else None


async def _on_published(db: Db, event: Event) -> None:
    published = ServicePublished.model_validate(event.data)
    snapshot = published.model_dump_json()
    await idempotency.insert_once(
        db[VERSIONS],
        {"_id": f"{published.service_id}:{published.version}", "snapshot": snapshot},
    )
    await _replace_if_newer(
        db,
        SERVICES,
        published.service_id,
        published.version,
        {"slug": published.slug, "agency": published.agency, "status": "published"}
        | {"snapshot": snapshot},
    )
    await db[SLUGS].replace_one(
        {"_id": published.slug}, {"service_id": published.service_id}, upsert=True
    )


async def _on_withdrawn(db: Db, event: Event) -> None:
    withdrawn = ServiceWithdrawn.model_validate(event.data)
    current = await db[SERVICES].find_one({"_id": withdrawn.service_id})
    if current is not None and current["version"] <= withdrawn.version:
        await db[SERVICES].update_one(
            {"_id": withdrawn.service_id}, {"$set": {"status": "withdrawn"}}
        )


async def _on_agency(db: Db, event: Event) -> None:
    agency_facts = AgencyUpserted.model_validate(event.data)
    await _replace_if_newer(
        db,
        AGENCIES,
        agency_facts.code,
        agency_facts.version,
        {"snapshot": agency_facts.model_dump_json()},
    )


async def _replace_if_newer(
    db: Db, collection: str, key: str, version: int, fields: dict[str, Any]
) -> None:
    current = await db[collection].find_one({"_id": key}, {"version": 1})
    if current is not None and current["version"] >= version:
        return  # a replay, or an older event arriving late
    await db[collection].replace_one({"_id": key}, {"version": version, **fields}, upsert=True)


def handlers(db: Db) -> dict[str, Handler]:
    """The catalog events this read model follows."""

    async def published(event: Event) -> None:
        await _on_published(db, event)

    async def withdrawn(event: Event) -> None:
        await _on_withdrawn(db, event)

    async def agency_upserted(event: Event) -> None:
        await _on_agency(db, event)

    return {
        "catalog.service.published.v1": published,
        "catalog.service.withdrawn.v1": withdrawn,
        "catalog.agency.upserted.v1": agency_upserted,
    }
