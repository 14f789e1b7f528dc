"""The search index each catalog replica keeps, rebuilt when the published catalog changes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from collections import Counter
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
                self.services = sorted(services, key=_alphabetical)
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
        """One page of published services from A to Z (by their Indonesian name), filtered."""
        after = _after(pagination.decode_cursor(cursor))
        await self.current(engine)
        chosen = [
            s
            for s in self.services
            if (after is None or _alphabetical(s) > after) and _passes(s, filters)
        ]
        return pagination.page(
            [summary(s) for s in chosen[: limit + 1]],
            limit=limit,
            key=lambda s: json.dumps(_alphabetical(s)),
        )

    async def category_counts(self, engine: AsyncEngine) -> dict[str, int]:
        """How many published services each category has."""
        await self.current(engine)
        return dict(Counter(str(s.category) for s in self.services))

    async def popular(
        self, engine: AsyncEngine, *, days: int, featured: list[str], limit: int
    ) -> list[ServiceSummary]:
        """The published services citizens applied to most in the last `days`, most first,
        then the `featured` ones (by slug) in their order, `limit` in all."""
        await self.current(engine)
        since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)
        async with engine.connect() as connection:
            ids = await store.most_applied(connection, since=since, limit=limit)
        by_key = {s.id: s for s in self.services} | {s.slug: s for s in self.services}
        chosen: dict[str, Service] = {}
        for key in [*ids, *featured]:
            found = by_key.get(key)
            if found is not None and len(chosen) < limit:
                chosen.setdefault(found.id, found)
        return [summary(s) for s in chosen.values()]

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


def _alphabetical(found: Service | ServiceSummary) -> tuple[str, str]:
    """The order of lists: by the Indonesian name, as people look for it, then by id."""
    return (found.name.id.casefold(), found.id)


def _after(decoded: str | None) -> tuple[str, str] | None:
    """Where a listing cursor resumes; one this list did not hand out is a 400 problem."""
    if decoded is None:
        return None
    try:
        name, service_id = json.loads(decoded)
    except (ValueError, TypeError):
        raise pagination.invalid_cursor() from None
    if not isinstance(name, str) or not isinstance(service_id, str):
        raise pagination.invalid_cursor()
    return (name, service_id)


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
