"""The event an issued output announces, on the real store, bus and S3: it carries the public
page that checks and downloads the output, for the link in the holder's e-mail."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from documents import issuing
from documents.settings import Settings
from mpp_shared.contracts.documents import OutputIssued
from mpp_shared.testing import KAFKA, Tokens, read_topic

from ..conftest import citizen_id
from .test_outputs import approve


async def test_the_issued_event_carries_the_verification_page_of_the_output(
    documents: httpx.AsyncClient, tokens: Tokens, settings: Settings, feed: Callable[..., Any]
) -> None:
    owner = citizen_id()
    approved = await approve(feed, owner)

    def issued(records: list[Any]) -> list[dict[str, Any]]:
        found = (json.loads(r.value) for r in records)
        return [
            e
            for e in found
            if e["type"] == "documents.output.issued.v1"
            and e["data"]["application_id"] == approved.application_id
        ]

    seen = await read_topic(
        KAFKA, settings.topic("documents.events"), until=lambda r: bool(issued(r))
    )
    [envelope] = issued(seen)
    data = OutputIssued.model_validate(envelope["data"])
    assert data.verify_url == issuing.verify_url(settings, data.verification_code)
    assert data.verify_url.startswith(settings.public_base_url.rstrip("/") + "/verify/")
    page = await documents.get(f"/api/v1/verify/{data.verification_code}")
    assert page.status_code == 200, "the link names an output the public check finds"
