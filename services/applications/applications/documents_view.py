"""The applications service's read model of citizens' documents, from `documents.events`: which
documents exist, whose they are and whether they passed their checks. A submission attaches
only documents known here as the citizen's own and available."""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mpp_shared.contracts.documents import DocumentDeleted, DocumentRejected, DocumentUploaded
from mpp_shared.events import Event
from mpp_shared.kafka import Handler

Db = AsyncDatabase[dict[str, Any]]

DOCUMENTS = "citizen_documents"


async def documents(db: Db, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The known documents among `ids`, by id."""
    found = {}
    for document_id in dict.fromkeys(ids):
        document = await db[DOCUMENTS].find_one({"_id": document_id})
        if document is not None:
            found[document_id] = document
    return found


def handlers(db: Db) -> dict[str, Handler]:
    """The documents events this read model follows; a deletion is final."""

    async def _unless_deleted(document_id: str, update: dict[str, Any]) -> None:
        with contextlib.suppress(DuplicateKeyError):  # deleted already: a deletion is final
            await db[DOCUMENTS].update_one(
                {"_id": document_id, "status": {"$ne": "deleted"}}, update, upsert=True
            )

    async def uploaded(event: Event) -> None:
        facts = DocumentUploaded.model_validate(event.data)
        await _unless_deleted(
            facts.document_id,
            {
                "$set": {
                    "owner": facts.owner,
                    "status": "available",
                    "content_type": facts.content_type,
                    "requirement": facts.requirement,
                }
            },
        )

    async def rejected(event: Event) -> None:
        facts = DocumentRejected.model_validate(event.data)
        await _unless_deleted(
            facts.document_id,
            {"$set": {"owner": facts.owner, "status": "rejected", "reason": facts.reason}},
        )

    async def deleted(event: Event) -> None:
        facts = DocumentDeleted.model_validate(event.data)
        await db[DOCUMENTS].replace_one(
            {"_id": facts.document_id},
            {"owner": facts.owner, "status": "deleted"},
            upsert=True,
        )

    return {
        "documents.document.uploaded.v1": uploaded,
        "documents.document.rejected.v1": rejected,
        "documents.document.deleted.v1": deleted,
    }
