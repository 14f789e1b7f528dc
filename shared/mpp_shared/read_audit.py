"""Audit lines where citizens' personal data is served, not only at the gateway: a call straight
to a service's port leaves its line too.

After each successful read (GET, HEAD) of a personal-data path by anyone but a citizen (staff,
partners), the service records a `<service>.personal_data.read.v1` event in its outbox, in
batches off the request's path (`mpp_shared.batches`); the gateway keeps them in the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mpp_shared import outbox, topics
from mpp_shared.auth import Principal
from mpp_shared.batches import BatchWriter
from mpp_shared.contracts.reads import READ_CONTRACTS
from mpp_shared.events import Event, new_event

READS = frozenset({"GET", "HEAD"})
# A request id as callers may set it (`X-Request-Id`); the gateway makes one for any other.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def writer(engine: AsyncEngine) -> BatchWriter[Event]:
    """Writes the audit events into the service's outbox, many reads to a transaction."""

    async def write(batch: list[Event]) -> None:
        async with engine.begin() as connection:
            await outbox.record(connection, batch)

    # A quarter of a second's reads to a transaction: at an officer desk's pace one line each,
    # a transaction (and an outbox wake-up) per read cost the inbox more than the read itself.
    return BatchWriter("read-audit", write, linger_seconds=0.25)


class ReadAudit:
    """ASGI middleware: an audit line for each successful read under the `segments` of
    `/api/v1/` by staff or a partner (as `mpp_shared.auth` found the caller)."""

    def __init__(self, app: ASGIApp, *, service_name: str, segments: Collection[str]) -> None:
        self.app = app
        self.contract = READ_CONTRACTS[service_name]
        self.source = topics.source_of(service_name)
        self.prefixes = tuple(f"/api/v1/{segment}" for segment in segments)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in READS
            or not scope["path"].startswith(self.prefixes)
        ):
            await self.app(scope, receive, send)
            return
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_noting_status)
        caller = scope.get("state", {}).get("principal")
        if isinstance(caller, Principal) and caller.role != "citizen" and 200 <= status < 400:
            scope["app"].state.runtime.read_audit.record(self._event(scope, caller, status))

    def _event(self, scope: Scope, caller: Principal, status: int) -> Event:
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        read = self.contract(
            at=datetime.now(UTC),
            actor=caller.subject,
            actor_role=caller.role,
            actor_agency=caller.agency,
            method=scope["method"],
            resource=scope["path"],
            query=query or None,
            status=status,
            request_id=given if REQUEST_ID.match(given) else None,
        )
        return new_event(read, source=self.source, subject=caller.subject)
