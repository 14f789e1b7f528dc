"""The applications service's own read model of the catalog, built from `catalog.events`.

Submissions are checked against the published service version held here, so they keep working
while the catalog is down. Snapshots are the catalog's own shapes, kept as JSONB: services by
id, slugs to ids, each published version, agencies by code. An event older than what is held
(a replay of the compacted topic) changes nothing.
"""

from __future__ import annotations

import weakref

from sqlalchemy import (
    BindParameter,
    Column,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    bindparam,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from applications.store import metadata
from mpp_shared.contracts.catalog import AgencyUpserted, ServicePublished, ServiceWithdrawn
from mpp_shared.events import Event
from mpp_shared.kafka import Handlers

catalog_services = Table(
    "catalog_services",
    metadata,
    Column("service_id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),  # published, withdrawn
    Column("snapshot", JSONB, nullable=False),
)
catalog_service_versions = Table(
    "catalog_service_versions",
    metadata,
    Column("service_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    PrimaryKeyConstraint("service_id", "version"),
)
# Every slug a service was published under names it, so old links keep working.
catalog_slugs = Table(
    "catalog_slugs",
    metadata,
    Column("slug", Text, primary_key=True),
    Column("service_id", Text, nullable=False),
)
catalog_agencies = Table(
    "catalog_agencies",
    metadata,
    Column("code", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("snapshot", JSONB, nullable=False),
)


# A published version is written once and never changed (`on_published` does nothing on a second
# copy), so each process parses it once: a list of 50 applications needs a dozen versions, each a
# whole service definition. One cache per database, so two databases never share one.
_versions: weakref.WeakKeyDictionary[Engine, dict[tuple[str, int], ServicePublished]] = (
    weakref.WeakKeyDictionary()
)
VERSIONS_KEPT = 2048


def known_version(engine: AsyncEngine, service_id: str, version: int) -> ServicePublished | None:
    """A version this process has already read, without a connection."""
    return _versions.get(engine.sync_engine, {}).get((service_id, version))


def remember_version(connection: AsyncConnection, published: ServicePublished) -> None:
    """Keep a version read from elsewhere (the service's latest is its newest version)."""
    kept = _versions.setdefault(connection.sync_engine, {})
    if len(kept) >= VERSIONS_KEPT:
        kept.clear()
    kept[(published.service_id, published.version)] = published


# The latest version of a service by id or by any slug it was published under (the id first),
# without its snapshot: every submission names its service, and decoding and parsing the whole
# definition each time made this 0.6 ms of CPU (0.2 ms now). Its snapshot is read once a version.
_REF: BindParameter[str] = bindparam("ref")
_LATEST = (
    select(catalog_services.c.service_id, catalog_services.c.version, catalog_services.c.status)
    .where(
        (catalog_services.c.service_id == _REF)
        | catalog_services.c.service_id.in_(
            select(catalog_slugs.c.service_id).where(catalog_slugs.c.slug == _REF)
        )
    )
    .order_by((catalog_services.c.service_id == _REF).desc())
    .limit(1)
)
_LATEST_SNAPSHOT = select(catalog_services.c.snapshot, catalog_services.c.status).where(
    catalog_services.c.service_id == bindparam("service_id")
)
_VERSION_SNAPSHOT = select(catalog_service_versions.c.snapshot).where(
    catalog_service_versions.c.service_id == bindparam("service_id"),
    catalog_service_versions.c.version == bindparam("version"),
)


async def service(connection: AsyncConnection, ref: str) -> tuple[ServicePublished, bool] | None:
    """The latest published version of a service by id or slug, and whether it takes
    applications (False once withdrawn)."""
    latest = (await connection.execute(_LATEST, {"ref": ref})).first()
    if latest is None:
        return None
    published = _versions.get(connection.sync_engine, {}).get((latest.service_id, latest.version))
    if published is not None:
        return published, latest.status == "published"
    found = await connection.execute(_LATEST_SNAPSHOT, {"service_id": latest.service_id})
    row = found.first()
    if row is None:
        return None
    published = ServicePublished.model_validate(row.snapshot)
    remember_version(connection, published)
    return published, row.status == "published"


async def service_version(
    connection: AsyncConnection, service_id: str, version: int
) -> ServicePublished | None:
    """One published version of a service, as applications made under it were checked."""
    kept = _versions.setdefault(connection.sync_engine, {})
    if (service_id, version) in kept:
        return kept[(service_id, version)]
    found = await connection.execute(
        _VERSION_SNAPSHOT, {"service_id": service_id, "version": version}
    )
    snapshot = found.scalar_one_or_none()
    if snapshot is None:
        return None
    published = ServicePublished.model_validate(snapshot)
    remember_version(connection, published)
    return published


async def agency(connection: AsyncConnection, code: str) -> AgencyUpserted | None:
    """An agency's latest public facts (its counters and their hours)."""
    found = await connection.execute(
        select(catalog_agencies.c.snapshot).where(catalog_agencies.c.code == code)
    )
    snapshot = found.scalar_one_or_none()
    return AgencyUpserted.model_validate(snapshot) if snapshot is not None else None


async def on_published(
    published: ServicePublished, event: Event, connection: AsyncConnection
) -> None:
    """Keep the version, and the service's latest one unless a newer one is held."""
    snapshot = published.model_dump(mode="json")
    await connection.execute(
        pg_insert(catalog_service_versions)
        .values(service_id=published.service_id, version=published.version, snapshot=snapshot)
        .on_conflict_do_nothing()
    )
    newer = pg_insert(catalog_services).values(
        service_id=published.service_id,
        version=published.version,
        status="published",
        snapshot=snapshot,
    )
    await connection.execute(
        newer.on_conflict_do_update(
            index_elements=[catalog_services.c.service_id],
            set_={
                "version": newer.excluded.version,
                "status": newer.excluded.status,
                "snapshot": newer.excluded.snapshot,
            },
            where=catalog_services.c.version < newer.excluded.version,
        )
    )
    slug = pg_insert(catalog_slugs).values(slug=published.slug, service_id=published.service_id)
    await connection.execute(
        slug.on_conflict_do_update(
            index_elements=[catalog_slugs.c.slug], set_={"service_id": slug.excluded.service_id}
        )
    )


async def on_withdrawn(
    withdrawn: ServiceWithdrawn, event: Event, connection: AsyncConnection
) -> None:
    """Stop taking applications, unless a newer version was published since."""
    await connection.execute(
        update(catalog_services)
        .where(
            catalog_services.c.service_id == withdrawn.service_id,
            catalog_services.c.version <= withdrawn.version,
        )
        .values(status="withdrawn")
    )


async def on_agency(facts: AgencyUpserted, event: Event, connection: AsyncConnection) -> None:
    """Keep an agency's latest facts."""
    newer = pg_insert(catalog_agencies).values(
        code=facts.code, version=facts.version, snapshot=facts.model_dump(mode="json")
    )
    await connection.execute(
        newer.on_conflict_do_update(
            index_elements=[catalog_agencies.c.code],
            set_={"version": newer.excluded.version, "snapshot": newer.excluded.snapshot},
            where=catalog_agencies.c.version < newer.excluded.version,
        )
    )


HANDLERS: Handlers = {
    ServicePublished: on_published,
    ServiceWithdrawn: on_withdrawn,
    AgencyUpserted: on_agency,
}
