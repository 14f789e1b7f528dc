"""The read models of the catalog and of citizens' documents: each event applied once however
often it is delivered, older news never overwriting newer; and the tables the migrations make."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from applications import catalog_view, documents_view, store
from applications.settings import Settings
from mpp_shared import events, topics
from mpp_shared.contracts.catalog import ServiceWithdrawn
from mpp_shared.contracts.documents import DocumentDeleted, DocumentRejected, DocumentUploaded
from mpp_shared.testing import migration_drift

from ..conftest import agency_facts, catalog_event, published_service


async def test_the_migrations_make_every_table_the_stores_declare(
    applications_settings: Settings, engine: AsyncEngine
) -> None:
    assert (
        await migration_drift(applications_settings, "applications.migrations", store.metadata)
        == []
    )


async def test_a_published_service_delivered_twice_keeps_the_newest_version(
    engine: AsyncEngine, feed: Callable[..., Any]
) -> None:
    first = published_service()
    second = first.model_copy(
        update={"version": 2, "name": first.name.model_copy(update={"en": "Renamed"})}
    )
    first_event, second_event = catalog_event(first), catalog_event(second)
    await feed(first_event, first_event, second_event, first_event, second_event)
    async with engine.connect() as connection:
        found = await catalog_view.service(connection, first.slug)
        by_id = await catalog_view.service(connection, first.service_id)
        versions = [
            await catalog_view.service_version(connection, first.service_id, n) for n in (1, 2)
        ]
    assert found is not None and found == by_id
    latest, open_for_applications = found
    assert (latest.version, latest.name.en, open_for_applications) == (2, "Renamed", True)
    assert [v.version if v else None for v in versions] == [1, 2], "every version is kept"
    assert versions[0] == first and versions[1] == second


async def test_a_withdrawal_delivered_twice_withdraws_once_and_a_newer_version_reopens(
    engine: AsyncEngine, feed: Callable[..., Any]
) -> None:
    first = published_service()
    withdrawn = events.new_event(
        type="catalog.service.withdrawn.v1",
        source=topics.source_of("catalog"),
        subject=first.service_id,
        data=ServiceWithdrawn(
            service_id=first.service_id,
            slug=first.slug,
            version=1,
            withdrawn_at=dt.datetime.now(dt.UTC),
        ),
    )
    await feed(catalog_event(first), withdrawn, withdrawn)
    async with engine.connect() as connection:
        found = await catalog_view.service(connection, first.slug)
    assert found is not None and found[1] is False
    await feed(catalog_event(first.model_copy(update={"version": 2})), withdrawn)
    async with engine.connect() as connection:
        found = await catalog_view.service(connection, first.slug)
    assert found is not None and (found[0].version, found[1]) == (2, True)


async def test_a_latest_version_read_once_is_kept_but_never_stands_for_a_newer_one(
    engine: AsyncEngine, feed: Callable[..., Any]
) -> None:
    # `service` keeps the versions it parsed: the status and version still come from the table.
    first = published_service()
    await feed(catalog_event(first))
    async with engine.connect() as connection:
        found = await catalog_view.service(connection, first.slug)
        again = await catalog_view.service(connection, first.service_id)
    assert found is not None and again is not None and found[0] is again[0], "parsed once"
    assert (found[0], found[1]) == (first, True)
    await feed(
        events.new_event(
            type="catalog.service.withdrawn.v1",
            source=topics.source_of("catalog"),
            subject=first.service_id,
            data=ServiceWithdrawn(
                service_id=first.service_id,
                slug=first.slug,
                version=1,
                withdrawn_at=dt.datetime.now(dt.UTC),
            ),
        )
    )
    async with engine.connect() as connection:
        withdrawn = await catalog_view.service(connection, first.slug)
    assert withdrawn is not None and (withdrawn[0].version, withdrawn[1]) == (1, False)
    second = first.model_copy(
        update={"version": 2, "name": first.name.model_copy(update={"en": "Renamed"})}
    )
    await feed(catalog_event(second))
    async with engine.connect() as connection:
        newer = await catalog_view.service(connection, first.slug)
        kept = await catalog_view.service_version(connection, first.service_id, 1)
    assert newer is not None and (newer[0], newer[1]) == (second, True)
    assert kept == first


async def test_an_agency_delivered_twice_keeps_its_newest_facts(
    engine: AsyncEngine, feed: Callable[..., Any]
) -> None:
    code = f"AG{secrets.token_hex(3).upper()}"
    older = catalog_event(agency_facts(code, version=1))
    newer = catalog_event(
        agency_facts(code, version=2, counters=[{"code": "A1", "name": {"id": "A", "en": "A"}}])
    )
    await feed(older, older, newer, older, newer)
    async with engine.connect() as connection:
        found = await catalog_view.agency(connection, code)
    assert found is not None and (found.version, len(found.counters)) == (2, 1)


def document_event(kind: str, data: Any) -> events.Event:
    return events.new_event(
        type=f"documents.document.{kind}.v1",
        source=topics.source_of("documents"),
        subject=data.document_id,
        data=data,
    )


async def test_document_events_delivered_twice_change_nothing_and_a_deletion_is_final(
    engine: AsyncEngine, feed: Callable[..., Any]
) -> None:
    kept, refused, gone = (f"doc-{secrets.token_hex(6)}" for _ in range(3))

    def uploaded(document_id: str) -> events.Event:
        return document_event(
            "uploaded",
            DocumentUploaded(
                document_id=document_id,
                owner="c-docs",
                content_type="application/pdf",
                size=10,
                sha256="0" * 64,
                requirement="surat_lahir",
            ),
        )

    rejected = document_event(
        "rejected", DocumentRejected(document_id=refused, owner="c-docs", reason="Buram")
    )
    deleted = document_event("deleted", DocumentDeleted(document_id=gone, owner="c-docs"))
    kept_uploaded, gone_uploaded = uploaded(kept), uploaded(gone)
    await feed(kept_uploaded, kept_uploaded, rejected, rejected)
    await feed(gone_uploaded, deleted, deleted, gone_uploaded)
    # A late upload of a deleted document, as a new event, does not bring it back either.
    await feed(uploaded(gone))
    async with engine.connect() as connection:
        found = await documents_view.documents(connection, [kept, refused, gone, "doc-none"])
    assert {k: (d.owner, d.status, d.reason) for k, d in found.items()} == {
        kept: ("c-docs", "available", None),
        refused: ("c-docs", "rejected", "Buram"),
        gone: ("c-docs", "deleted", None),
    }
