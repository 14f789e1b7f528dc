"""Every query of the catalog's database."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from catalog.models import Agency
from mpp_shared import pagination

AGENCIES = "agencies"
OUTBOX_COLLECTIONS = [AGENCIES]
INDEXES = {AGENCIES: [IndexModel([("code", ASCENDING)], unique=True)]}


async def list_agencies(
    db: AsyncDatabase[dict[str, Any]], *, limit: int, cursor: str | None
) -> pagination.Page[Agency]:
    """Agencies in id order, one page."""
    found = db[AGENCIES].find(pagination.after(cursor)).sort("_id", ASCENDING).limit(limit + 1)
    agencies = [
        Agency(id=d["_id"], code=d["code"], name=d["name"], kind=d["kind"]) async for d in found
    ]
    return pagination.page(agencies, limit=limit, key=lambda a: a.id)
