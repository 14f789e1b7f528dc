"""The store's statements, built once and run with each call's values: every set of changed
columns sets its own, and a stale version changes nothing."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from applications import store
from applications.models import HistoryLine
from mpp_shared import db

from ..conftest import insert_application, stored_application


async def test_updates_of_different_columns_change_only_those_and_a_stale_version_nothing(
    engine: AsyncEngine, publish_service: Callable[..., Any]
) -> None:
    # The store keeps one prebuilt update per set of changed columns: each must set its own.
    service = await publish_service(agency=f"UPD{secrets.token_hex(3).upper()}")
    application = stored_application(
        agency=service.agency,
        service_id=service.service_id,
        service_slug=service.slug,
        state="submitted",
        version=1,
    )
    await insert_application(engine, application)
    async with engine.begin() as connection:
        assert not await store.insert(
            connection, application, idempotency_key=None, new_events=[]
        ), "the same id twice inserts nothing"
        escalated = await store.update(
            connection,
            application_id=application.id,
            expected_version=1,
            changes={"breaches": ["state"], "escalated": True},
            new_events=[],
        )
        moved = await store.update(
            connection,
            application_id=application.id,
            expected_version=2,
            changes={"state": "in_review", "documents": {"surat_lahir": ["d-1"]}},
            new_events=[],
            history=HistoryLine(
                at=dt.datetime.now(dt.UTC),
                action="start_review",
                actor="o-1",
                actor_role="officer",
                from_state="submitted",
                to_state="in_review",
            ),
        )
        with pytest.raises(db.VersionConflict):
            await store.update(
                connection,
                application_id=application.id,
                expected_version=2,
                changes={"breaches": ["overall"], "escalated": False},
                new_events=[],
            )
    assert (escalated.version, escalated.state, escalated.breaches, escalated.escalated) == (
        2,
        "submitted",
        ["state"],
        True,
    )
    assert (moved.version, moved.state, moved.breaches, moved.documents) == (
        3,
        "in_review",
        ["state"],
        {"surat_lahir": ["d-1"]},
    )
    assert [line.action for line in moved.history] == ["start_review"]
    async with engine.connect() as connection:
        assert await store.find(connection, application.id) == moved
        found = await store.by_tracking_number(connection, application.tracking_number)
        record = await store.find_record(connection, application.id)
    assert found == moved
    assert record is not None and (record.id, record.version) == (application.id, 3)
