"""The search index each catalog replica keeps, rebuilt when the published catalog changes."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from catalog import store
from catalog.models import MatchReason, SearchMatch, Service, ServiceSummary
from catalog.search import SearchIndex
from catalog.service import service_view
from mpp_shared import pagination

MAX_RESULTS = 200


def summary(found: Service, match: SearchMatch | None = None) -> ServiceSummary:
    """A service as lists show it."""
    return ServiceSummary(
        id=found.id,
        slug=found.slug,
        name=found.name,
        agency=found.agency,
        category=found.category,
        channels=found.channels,
        fee_amount=found.standard.fee.amount,
        fee_variable=found.standard.fee.variable,
        sla_days=found.workflow.sla_days if found.workflow else None,
        electronic_output=found.standard.product.electronic,
        version=found.version,
        match=match,
    )


# How often a replica asks the database whether the published catalog changed: a publication
# shows on other replicas within this time, on the one that published it at once (`changed`).
GENERATION_CHECK_SECONDS = 1.0


class SearchCache:
    """The published catalog in memory, with its search index, as of one generation.

    Lists, searches and service pages are served from it: the published catalog is small
    (hundreds of services per regency) and changes rarely, and every replica notices a change by
    the generation counter that each publication bumps, read at most once a second.
    """

    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        self.services: list[Service] = []
        self.generation = -1
        self._pages: dict[str, tuple[Service, bytes]] = {}  # by id and by current slug
        self._checked = -math.inf
        self._lock = asyncio.Lock()

    def changed(self) -> None:
        """This replica changed the published catalog: look again on the next call."""
        self._checked = -math.inf

    async def current(self, engine: AsyncEngine) -> SearchIndex:
        """The index of the published catalog as it is now (or at most a second ago)."""
        if self.index is not None and time.monotonic() - self._checked < GENERATION_CHECK_SECONDS:
            return self.index
        async with engine.connect() as connection:
            generation = await store.search_generation(connection)
        if self.index is not None and generation == self.generation:
            self._checked = time.monotonic()
            return self.index
        async with self._lock:
            if self.index is None or generation != self.generation:
                async with engine.connect() as connection:
                    generation = await store.search_generation(connection)
                    records = await store.published_services(connection)
                    agencies = await store.agency_names(connection)
                services = [service_view(r) for r in records]
                # Stemming is CPU work: build off the event loop.
                self.index = await asyncio.to_thread(SearchIndex, services, agencies)
                self.services = sorted(services, key=lambda s: s.id)
                # The pages as JSON, made once per generation instead of once per request.
                self._pages = {}
                for found in services:
                    page = (found, found.model_dump_json().encode())
                    self._pages[found.id] = self._pages[found.slug] = page
                self.generation = generation
            self._checked = time.monotonic()
        return self.index

    async def published_page(
        self, engine: AsyncEngine, id_or_slug: str
    ) -> tuple[Service, bytes] | None:
        """A published service's current version and its JSON, by id or current slug; None for
        an older slug or no such service."""
        await self.current(engine)
        return self._pages.get(id_or_slug)

    async def listing(
        self, engine: AsyncEngine, *, filters: dict[str, Any], limit: int, cursor: str | None
    ) -> pagination.Page[ServiceSummary]:
        """One page of published services in id order, filtered."""
        after = pagination.decode_cursor(cursor) or ""
        await self.current(engine)
        chosen = [s for s in self.services if s.id > after and _passes(s, filters)]
        return pagination.page(
            [summary(s) for s in chosen[: limit + 1]], limit=limit, key=lambda s: s.id
        )

    async def page(
        self,
        engine: AsyncEngine,
        *,
        query: str,
        filters: dict[str, Any],
        limit: int,
        cursor: str | None,
    ) -> pagination.Page[ServiceSummary]:
        """One page of search results, best first, each with why it matched."""
        offset = _offset(cursor)
        index = await self.current(engine)
        hits = [h for h in index.search(query, limit=MAX_RESULTS) if _passes(h.service, filters)]
        shown = hits[offset : offset + limit]
        items = [
            summary(
                h.service,
                SearchMatch(score=h.score, reasons=[MatchReason(**vars(m)) for m in h.matches]),
            )
            for h in shown
        ]
        more = offset + limit < len(hits)
        next_cursor = pagination.encode_cursor(f"@{offset + limit}") if more else None
        return pagination.Page[ServiceSummary](items=items, next_cursor=next_cursor)


def _passes(found: Service, filters: dict[str, Any]) -> bool:
    return (
        (not filters.get("agency") or found.agency == filters["agency"])
        and (not filters.get("category") or found.category == filters["category"])
        and (not filters.get("channel") or filters["channel"] in found.channels)
    )


def _offset(cursor: str | None) -> int:
    decoded = pagination.decode_cursor(cursor)
    if decoded is None:
        return 0
    if not decoded.startswith("@") or not decoded[1:].isdigit():
        raise pagination.invalid_cursor()
    return int(decoded[1:])
