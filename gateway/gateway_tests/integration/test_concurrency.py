"""The identity database under concurrent requests, and its migrations in step with its tables."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity import store
from gateway.settings import Settings
from mpp_shared.testing import Databases, migration_drift

from ..conftest import PASSWORD, new_nik, new_phone, otp_code, sign_in


async def test_the_migrations_make_every_table_the_store_declares(
    gateway_settings: Settings, postgres: Databases
) -> None:
    assert await migration_drift(gateway_settings, "gateway.migrations", store.metadata) == []


async def _count(engine: AsyncEngine, key: str, *, lock_after: int) -> store.Failures:
    at = datetime.now(UTC)
    async with engine.begin() as connection:
        return await store.count_failure(
            connection,
            key,
            now=at,
            window_start=at - timedelta(minutes=15),
            lock_after=lock_after,
            locked_until=at + timedelta(minutes=15),
        )


async def test_concurrent_failed_sign_ins_are_each_counted(engine: AsyncEngine) -> None:
    key = f"login:{secrets.token_hex(8)}"
    counted = await asyncio.gather(*(_count(engine, key, lock_after=100) for _ in range(20)))
    assert sorted(f.failures for f in counted) == list(range(1, 21))
    async with engine.connect() as connection:
        stored = await store.failures(connection, key)
    assert stored is not None and stored.failures == 20


async def test_of_concurrent_failed_sign_ins_exactly_the_last_allowed_one_locks(
    engine: AsyncEngine,
) -> None:
    key = f"login:{secrets.token_hex(8)}"
    counted = await asyncio.gather(*(_count(engine, key, lock_after=5) for _ in range(5)))
    assert [f.locked_until is not None for f in counted].count(True) == 1
    async with engine.connect() as connection:
        stored = await store.failures(connection, key)
    assert stored is not None and stored.locked_until is not None and stored.failures == 0


async def test_a_failure_after_the_window_starts_counting_again(engine: AsyncEngine) -> None:
    key = f"login:{secrets.token_hex(8)}"
    await _count(engine, key, lock_after=5)
    await _count(engine, key, lock_after=5)
    at = datetime.now(UTC)
    async with engine.begin() as connection:
        fresh = await store.count_failure(
            connection,
            key,
            now=at,
            window_start=at + timedelta(seconds=1),  # every earlier failure is outside it
            lock_after=5,
            locked_until=at + timedelta(minutes=15),
        )
    assert (fresh.failures, fresh.first_at, fresh.locked_until) == (1, at, None)


async def test_of_two_concurrent_refreshes_with_one_token_one_wins_and_the_session_ends(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    tokens = (await register())["tokens"]
    body = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    answers = await asyncio.gather(*(gateway.post("/api/v1/auth/token", data=body) for _ in "ab"))
    assert sorted(a.status_code for a in answers) == [200, 401]
    [winner] = [a for a in answers if a.status_code == 200]
    again = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": winner.json()["refresh_token"]},
    )
    assert again.status_code == 401, "a token used twice at once was copied: the session ends"


async def test_a_code_sent_once_is_spent_once_by_concurrent_requests(
    gateway: httpx.AsyncClient, gateway_settings: Settings, register: Callable[..., Any]
) -> None:
    citizen = await register(verified=False)
    code = await otp_code(gateway_settings, citizen["phone"])
    body = {"phone": citizen["phone"], "code": code}
    answers = await asyncio.gather(
        *(gateway.post("/api/v1/auth/verify-phone", json=body) for _ in range(3))
    )
    assert sorted(a.status_code for a in answers) == [200, 400, 400]


async def test_concurrent_registrations_of_one_nik_make_one_account(
    gateway: httpx.AsyncClient,
) -> None:
    nik = new_nik()
    bodies = [
        {"nik": nik, "name": "Andi Baso", "phone": new_phone(), "password": PASSWORD}
        for _ in range(3)
    ]
    answers = await asyncio.gather(
        *(gateway.post("/api/v1/auth/register", json=body) for body in bodies)
    )
    assert {a.status_code for a in answers} <= {201, 409}
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1, "one account, however many raced to make it"


async def test_of_two_concurrent_staff_accounts_with_one_username_one_is_made(
    gateway: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    username = f"kembar.{secrets.token_hex(3)}"
    body = {"username": username, "name": "Petugas Kembar", "role": "ops_viewer"}
    answers = await asyncio.gather(
        *(
            gateway.post("/api/v1/auth/staff", json=body | {"password": PASSWORD}, headers=admin)
            for _ in "ab"
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert (await sign_in(gateway, username, PASSWORD)).status_code == 200
