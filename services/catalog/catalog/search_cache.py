"""The search index each catalog replica keeps, rebuilt when the published catalog changes."""

from __future__ import annotations

import asyncio
from typing import Any

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
        sla_days=found.workflow.sla_days if found.workflow else None,
        electronic_output=found.standard.product.electronic,
        version=found.version,
        match=match,
    )


class SearchCache:
    """Holds one index and the catalog generation it was built from."""

    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        self.generation = -1
        self._lock = asyncio.Lock()

    async def current(self, db: store.Db) -> SearchIndex:
        """The index of the published catalog as it is now."""
        generation = await store.search_generation(db)
        if self.index is not None and generation == self.generation:
            return self.index
        async with self._lock:
            if self.index is None or generation != self.generation:
                services = [service_view(d) for d in await store.published_services(db)]
                agencies = {
                    d["code"]: [d["name"]["id"], d["name"]["en"], d.get("short_name", "")]
                    async for d in db[store.AGENCIES].find(
                        {}, {"code": 1, "name": 1, "short_name": 1}
                    )
                }
                # Stemming is CPU work: build off the event loop.
                self.index = await asyncio.to_thread(SearchIndex, services, agencies)
                self.generation = generation
        return self.index

    async def page(
        self, db: store.Db, *, query: str, filters: dict[str, Any], limit: int, cursor: str | None
    ) -> pagination.Page[ServiceSummary]:
        """One page of search results, best first, each with why it matched."""
        offset = _offset(cursor)
        index = await self.current(db)
        hits = [
            h
            for h in index.search(query, limit=MAX_RESULTS)
            if (not filters.get("agency") or h.service.agency == filters["agency"])
            and (not filters.get("category") or h.service.category == filters["category"])
            and (not filters.get("channel") or filters["channel"] in h.service.channels)
        ]
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


def _offset(cursor: str | None) -> int:
    decoded = pagination.decode_cursor(cursor)
    if decoded is None:
        return 0
    if not decoded.startswith("@") or not decoded[1:].isdigit():
        raise pagination.invalid_cursor()
    return int(decoded[1:])
