"""Every query of bookings."""

from __future__ import annotations

from pymongo import IndexModel

INDEXES: dict[str, list[IndexModel]] = {}
OUTBOX_COLLECTIONS: list[str] = []
