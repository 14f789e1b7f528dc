"""`db.reading`: reads that stand alone, outside any transaction."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from mpp_shared import db

from .conftest import Probe

NOW = text("SELECT now()")  # the time its transaction started


async def test_each_read_of_a_reading_connection_is_its_own_transaction(probe: Probe) -> None:
    async with db.reading(probe.engine) as connection:
        first = (await connection.execute(NOW)).scalar_one()
        await asyncio.sleep(0.01)
        second = (await connection.execute(NOW)).scalar_one()
    assert second > first
    # The same connection given back and taken as is holds its reads in one transaction again.
    async with probe.engine.connect() as connection:
        first = (await connection.execute(NOW)).scalar_one()
        await asyncio.sleep(0.01)
        second = (await connection.execute(NOW)).scalar_one()
    assert second == first
