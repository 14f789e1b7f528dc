"""Limits that hold under attack and let honest crowds through: the client's address as trusted
proxies name it (never as the caller claims), guesses at one account counted however fast they
come and whichever name they use, and hundreds of citizens behind one address signing up."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from gateway.identity import passwords
from gateway.settings import Settings
from mpp_shared.testing import KAFKA, read_topic

from ..conftest import PASSWORD, e164, make_gateway_settings, new_nik, new_phone, sign_in, started

pytestmark = pytest.mark.usefixtures("postgres", "kafka")


def _nobody() -> str:
    """A sign-in name that is nobody's, new each time (its failures are counted apart)."""
    return f"nobody.{secrets.token_hex(4)}"


async def test_a_forwarded_for_header_from_anyone_is_not_believed(namespace: str) -> None:
    settings = make_gateway_settings(namespace, rate_limit_auth_per_client="3/minute")
    async for client in started(settings):
        answers = [
            (
                await client.post(
                    "/api/v1/auth/token",
                    data={"grant_type": "password", "username": _nobody(), "password": "x"},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                )
            ).status_code
            for n in range(4)
        ]
        assert answers == [401, 401, 401, 429], "one address, whatever the header says"


async def test_behind_trusted_proxies_the_client_is_the_right_most_untrusted_hop(
    namespace: str,
) -> None:
    settings = make_gateway_settings(
        namespace,
        rate_limit_auth_per_client="3/minute",
        trusted_proxies=["127.0.0.1", "10.0.0.0/8"],
    )

    async def guess(client: httpx.AsyncClient, forwarded_for: str) -> int:
        answer = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": _nobody(), "password": "x"},
            headers={"X-Forwarded-For": forwarded_for},
        )
        return answer.status_code

    async for client in started(settings):
        # The attacker writes what it likes to the left of what the proxies appended.
        spoofed = [f"198.51.100.{n}, 203.0.113.9, 10.0.0.5" for n in range(4)]
        assert [await guess(client, header) for header in spoofed] == [401, 401, 401, 429]
        assert await guess(client, "203.0.113.10, 10.0.0.5") == 401, (
            "another client has its own limit"
        )


def test_a_trusted_proxy_that_is_no_address_is_refused_at_start(namespace: str) -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        make_gateway_settings(namespace, trusted_proxies=["10.0.0.0/33"])


async def test_concurrent_guesses_at_one_account_check_no_more_passwords_than_the_lock_allows(
    namespace: str, register: Callable[..., Any]
) -> None:
    citizen = await register()
    settings = make_gateway_settings(namespace, login_slow_after=100, login_lock_after=10)
    async for client in started(settings):
        guesses = await asyncio.gather(
            *(sign_in(client, citizen["nik"], f"tebakan {n}") for n in range(25))
        )
        answers = sorted(g.status_code for g in guesses)
        assert answers == [401] * 10 + [429] * 15, "the 11th guess on is refused unchecked"
        assert {g.json()["reason"] for g in guesses if g.status_code == 429} == {"account-locked"}
        # The lock is the account's, whichever of its names is tried next.
        for name in (citizen["nik"], citizen["phone"]):
            locked = await sign_in(client, name, PASSWORD)
            assert locked.status_code == 429, locked.text
            assert locked.json()["reason"] == "account-locked"


@pytest.fixture
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its cheapest: what these tests count is calls, not hashing cost."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    monkeypatch.setattr(passwords, "DUMMY_HASH", hasher.hash("not-a-real-password"))


async def test_two_hundred_citizens_behind_one_address_all_get_in_while_a_guessed_account_locks(
    namespace: str, quick_hashes: None
) -> None:
    defaults = {
        name: Settings.model_fields[name].default
        for name in Settings.model_fields
        if name.startswith("rate_limit_")
    }
    settings = make_gateway_settings(namespace, **defaults)
    people = [{"nik": new_nik(), "phone": new_phone()} for _ in range(200)]
    async for client in started(settings):
        victim = people[0]
        for person in people:
            registered = await client.post(
                "/api/v1/auth/register",
                json=person | {"name": "Warga Sinjai", "password": PASSWORD},
            )
            assert registered.status_code == 201, registered.text
        codes = await _codes(settings, [person["phone"] for person in people])
        for person in people:
            verified = await client.post(
                "/api/v1/auth/verify-phone",
                json={"phone": person["phone"], "code": codes[person["phone"]]},
            )
            assert verified.status_code == 200, verified.text

        # Someone on the same Wi-Fi guesses at the first citizen's password.
        guesses = [(await sign_in(client, victim["nik"], "tebak-tebakan")) for _ in range(4)]
        assert [g.status_code for g in guesses] == [401, 401, 401, 429]
        assert guesses[-1].json()["reason"] == "login-slowed"
        for wait in (1, 2):  # waiting out each slowing, it reaches the lock (5 here)
            await asyncio.sleep(wait + 0.1)
            assert (await sign_in(client, victim["nik"], "tebak-tebakan")).status_code == 401
        locked = await sign_in(client, victim["phone"], PASSWORD)
        assert locked.json()["reason"] == "account-locked"

        for person in people[1:]:
            signed = await sign_in(client, person["phone"], PASSWORD)
            assert signed.status_code == 200, signed.text


async def _codes(settings: Settings, phones: list[str]) -> dict[str, str]:
    """The latest verification code each phone was sent, read from the OTP topic."""
    wanted = {e164(phone): phone for phone in phones}
    found: dict[str, str] = {}

    def all_found(records: list[Any]) -> bool:
        for record in records[len(seen) :]:
            data = json.loads(record.value)["data"]
            if data["phone"] in wanted and data["purpose"] == "verify_phone":
                found[wanted[data["phone"]]] = data["code"]
        seen[:] = records
        return len(found) == len(phones)

    seen: list[Any] = []
    await read_topic(KAFKA, settings.topic("identity.otp"), until=all_found, timeout=60)
    return found


async def test_failed_sign_ins_over_many_accounts_from_one_address_are_limited(
    namespace: str,
) -> None:
    settings = make_gateway_settings(namespace, rate_limit_failed_sign_ins_per_client="5/minute")
    async for client in started(settings):
        sprayed = [(await sign_in(client, _nobody(), "123456")).status_code for _ in range(6)]
        assert sprayed == [401] * 5 + [429]


async def test_signed_in_calls_are_limited_per_account_and_bad_tokens_per_address(
    namespace: str, register: Callable[..., Any]
) -> None:
    citizen = await register()
    settings = make_gateway_settings(namespace, rate_limit_per_client="3/minute")
    async for client in started(settings):
        mine = {"Authorization": f"Bearer {citizen['tokens']['access_token']}"}
        answers = [(await client.get("/api/v1/auth/me", headers=mine)).status_code for _ in "abcde"]
        assert answers == [200] * 5, "the address's limit is not the account's"
        forged = {"Authorization": "Bearer not.a.token"}
        answers = [
            (await client.get("/api/v1/auth/me", headers=forged)).status_code for _ in "abcd"
        ]
        assert answers == [401, 401, 401, 429]
