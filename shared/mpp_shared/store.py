"""The document store: PyMongo's async client and an index helper.

Code only what every MongoDB-wire store supports, FerretDB 1 on SQLite included: no
multi-document transactions, change streams, $lookup, $facet, text, TTL or partial indexes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from mpp_shared.settings import ServiceSettings

Document = dict[str, Any]


def create_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    """A client for the service's store; it connects lazily, on first use."""
    return AsyncMongoClient(
        settings.mongo_url,
        tz_aware=True,
        appname=settings.service_name,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
    )


async def ensure_indexes(
    db: AsyncDatabase[Document], indexes: Mapping[str, Sequence[IndexModel]]
) -> None:
    """Create each collection's missing indexes, one at a time.

    One at a time and only the missing ones: FerretDB 1.24 drops the connection when a single
    createIndexes command names several indexes that already exist.
    """
    for collection, models in indexes.items():
        existing = await db[collection].index_information()
        for model in models:
            if model.document["name"] not in existing:
                await db[collection].create_indexes([model])


async def ping(client: AsyncMongoClient[Document]) -> None:
    """Raise unless the store answers."""
    await client.admin.command("ping")
