"""The catalog's routes, under /api/v1/catalog."""

from __future__ import annotations

from fastapi import APIRouter

from catalog import store
from catalog.models import Agency
from mpp_shared import pagination
from mpp_shared.web import RuntimeDep

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])


@router.get("/agencies")
async def list_agencies(
    rt: RuntimeDep, limit: pagination.Limit = 20, cursor: pagination.Cursor = None
) -> pagination.Page[Agency]:
    """List the agencies serving at the mall."""
    return await store.list_agencies(rt.db, limit=limit, cursor=cursor)
