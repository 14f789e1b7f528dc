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


async def _claim(
    engine: AsyncEngine,
    key: str,
    *,
    slow_after: int = 100,
    lock_after: int = 100,
    window_start: datetime | None = None,
) -> store.Failures:
    at = datetime.now(UTC)
    async with engine.begin() as connection:
        return await store.claim_attempt(
            connection,
            key,
            now=at,
            window_start=window_start or at - timedelta(minutes=15),
            slow_after=slow_after,
            lock_after=lock_after,
            locked_until=at + timedelta(minutes=15),
        )


async def test_concurrent_sign_in_attempts_are_each_counted(engine: AsyncEngine) -> None:
    key = f"login:{secrets.token_hex(8)}"
    claimed = await asyncio.gather(*(_claim(engine, key) for _ in range(20)))
    assert sorted(f.failures for f in claimed) == list(range(1, 21))
    async with engine.connect() as connection:
        stored = await store.failures(connection, key)
    assert stored is not None and stored.failures == 20


async def test_of_concurrent_attempts_no_more_than_the_lock_allows_are_let_through(
    engine: AsyncEngine,
) -> None:
    key = f"login:{secrets.token_hex(8)}"
    claimed = await asyncio.gather(*(_claim(engine, key, lock_after=5) for _ in range(12)))
    let_through = [f for f in claimed if f.refused is None]
    assert len(let_through) == 5
    assert [f.locked_until is not None for f in let_through].count(True) == 1
    assert {f.refused for f in claimed if f.refused} == {"account-locked"}


async def test_of_concurrent_attempts_past_the_slowing_point_the_rest_wait(
    engine: AsyncEngine,
) -> None:
    key = f"login:{secrets.token_hex(8)}"
    claimed = await asyncio.gather(*(_claim(engine, key, slow_after=3) for _ in range(8)))
    assert [f.refused for f in claimed].count(None) == 3
    assert {f.refused for f in claimed if f.refused} == {"login-slowed"}


async def test_an_attempt_after_the_window_starts_counting_again(engine: AsyncEngine) -> None:
    key = f"login:{secrets.token_hex(8)}"
    await _claim(engine, key)
    await _claim(engine, key)
    fresh = await _claim(engine, key, window_start=datetime.now(UTC) + timedelta(seconds=1))
    assert (fresh.failures, fresh.locked_until, fresh.refused) == (1, None, None)


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
