"""Citizens' registration with a one-time code, sign-in, sessions and their ends, on the real
store and Kafka."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.identity import store
from gateway.settings import Settings
from mpp_shared.auth import AuthSettings, TokenVerifier
from mpp_shared.testing import KAFKA, Tokens, eventually, read_topic

from ..conftest import PASSWORD, bearer, e164, new_nik, new_phone, otp_code, sign_in


async def test_registration_verification_and_sign_in_by_nik_or_phone(
    gateway: httpx.AsyncClient, gateway_settings: Settings, register: Callable[..., Any]
) -> None:
    citizen = await register(verified=False, email="andi@example.id")
    before = await sign_in(gateway, citizen["nik"], PASSWORD)
    assert before.status_code == 403
    assert before.json()["reason"] == "phone-not-verified"

    code = await otp_code(gateway_settings, citizen["phone"])
    verified = await gateway.post(
        "/api/v1/auth/verify-phone", json={"phone": citizen["phone"], "code": code}
    )
    assert verified.status_code == 200, verified.text
    me = await gateway.get("/api/v1/auth/me", headers=bearer(verified.json()))
    assert me.status_code == 200, me.text
    assert me.json()["phone"] == e164(citizen["phone"])
    assert me.json()["phone_verified"] is True
    assert me.json()["nik_masked"] == citizen["nik"][:4] + "********" + citizen["nik"][12:]

    by_nik = await sign_in(gateway, citizen["nik"], PASSWORD)
    spaced = f"+62 {citizen['phone'][1:4]}-{citizen['phone'][4:8]}-{citizen['phone'][8:]}"
    by_phone = await sign_in(gateway, spaced, PASSWORD)
    assert (by_nik.status_code, by_phone.status_code) == (200, 200), by_phone.text
    assert by_nik.json()["role"] == "citizen"

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [
            e for e in map(lambda r: json.loads(r.value), records) if e["subject"] == citizen["id"]
        ]

    seen = await read_topic(
        KAFKA, gateway_settings.topic("identity.events"), until=lambda r: len(ours(r)) >= 2
    )
    registered, updated = ours(seen)[:2]
    assert registered["type"] == "identity.citizen.registered.v1"
    assert registered["data"]["phone_verified"] is False
    assert updated["type"] == "identity.citizen.updated.v1"
    assert updated["data"] == registered["data"] | {"phone_verified": True}
    assert registered["data"]["email"] == "andi@example.id"
    raw = b"".join(r.value for r in seen)
    assert citizen["nik"].encode() not in raw, "the NIK is in no event"


async def test_the_nik_is_stored_encrypted(
    engine: AsyncEngine, register: Callable[..., Any]
) -> None:
    citizen = await register()
    async with engine.connect() as connection:
        stored = await store.account(connection, citizen["id"])
    assert stored is not None
    assert citizen["nik"] not in stored.model_dump_json()
    assert stored.nik_encrypted is not None and stored.nik_encrypted.startswith("k1:")


async def test_bad_registrations_name_each_field(gateway: httpx.AsyncClient) -> None:
    cases = {
        "730701550690001": "nik",  # 15 digits
        "9907015506900001": "nik",  # no province 99
        "7307013206900001": "nik",  # day 32
        "7307015506900000": "nik",  # serial 0000
    }
    for nik, field in cases.items():
        response = await gateway.post(
            "/api/v1/auth/register",
            json={"nik": nik, "name": "Andi", "phone": new_phone(), "password": PASSWORD},
        )
        assert response.status_code == 422, (nik, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field]
    landline = await gateway.post(
        "/api/v1/auth/register",
        json={"nik": new_nik(), "name": "Andi", "phone": "0411 21234", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert landline.status_code == 422
    assert landline.json()["errors"][0]["field"] == "phone"
    assert "Indonesian mobile number" in landline.json()["errors"][0]["message"]
    weak = await gateway.post(
        "/api/v1/auth/register",
        json={"nik": new_nik(), "name": "Andi Baso", "phone": new_phone(), "password": "andibaso1"},
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "password"
    assert "mudah ditebak" in weak.json()["errors"][0]["message"]
    unknown = await gateway.post("/api/v1/auth/register", json={"nik": new_nik(), "rank": "x"})
    assert unknown.status_code == 422
    assert {"name", "phone", "password", "rank"} <= {e["field"] for e in unknown.json()["errors"]}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "id",
            {
                "nik": "NIK harus 16 angka (terisi 15).",
                "name": "Wajib diisi.",
                "phone": "Wajib diisi.",
                "password": "Wajib diisi.",
            },
        ),
        (
            "en",
            {
                "nik": "A NIK is 16 digits (this has 15).",
                "name": "Required.",
                "phone": "Required.",
                "password": "Required.",
            },
        ),
    ],
)
async def test_a_registration_names_every_missing_or_wrong_field_at_once(
    gateway: httpx.AsyncClient, lang: str, expected: dict[str, str]
) -> None:
    response = await gateway.post(
        "/api/v1/auth/register",
        json={"nik": "7307 0155 0690 001", "name": " ", "phone": "", "password": ""},
        headers={"Accept-Language": lang},
    )
    assert response.status_code == 422, response.text
    assert {e["field"]: e["message"] for e in response.json()["errors"]} == expected


async def test_a_nik_and_phone_typed_with_dashes_register_and_sign_in_as_their_digits(
    gateway: httpx.AsyncClient, gateway_settings: Settings
) -> None:
    nik, phone = new_nik(), new_phone()
    dashed_nik = f"{nik[:4]}-{nik[4:8]} {nik[8:12]}.{nik[12:]}"
    dashed_phone = f"{phone[:4]}-{phone[4:8]} {phone[8:]}"
    registered = await gateway.post(
        "/api/v1/auth/register",
        json={"nik": dashed_nik, "name": "Andi Baso", "phone": dashed_phone, "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    verified = await gateway.post(
        "/api/v1/auth/verify-phone",
        json={"phone": dashed_phone, "code": await otp_code(gateway_settings, phone)},
    )
    assert verified.status_code == 200, verified.text
    me = await gateway.get("/api/v1/auth/me", headers=bearer(verified.json()))
    assert me.json()["nik_masked"] == f"{nik[:4]}********{nik[12:]}"
    assert me.json()["phone"] == e164(phone)
    for username in (nik, dashed_nik, phone):
        assert (await sign_in(gateway, username, PASSWORD)).status_code == 200, username


async def test_a_verified_nik_cannot_register_again(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    citizen = await register()
    again = await gateway.post(
        "/api/v1/auth/register",
        json={
            "nik": citizen["nik"],
            "name": "Orang Lain",
            "phone": new_phone(),
            "password": PASSWORD,
        },
    )
    assert again.status_code == 409
    assert again.json()["reason"] == "nik-registered"
    same_phone = await gateway.post(
        "/api/v1/auth/register",
        json={
            "nik": new_nik(),
            "name": "Orang Lain",
            "phone": citizen["phone"],
            "password": PASSWORD,
        },
    )
    assert same_phone.status_code == 409
    assert same_phone.json()["reason"] == "phone-registered"


async def test_wrong_codes_are_counted_and_a_used_code_is_refused(
    gateway: httpx.AsyncClient, gateway_settings: Settings, register: Callable[..., Any]
) -> None:
    citizen = await register(verified=False)
    code = await otp_code(gateway_settings, citizen["phone"])
    wrong = "000000" if code != "000000" else "111111"
    missed = await gateway.post(
        "/api/v1/auth/verify-phone", json={"phone": citizen["phone"], "code": wrong}
    )
    assert missed.status_code == 400
    assert missed.json()["attempts_left"] == gateway_settings.otp_attempts - 1
    right = await gateway.post(
        "/api/v1/auth/verify-phone", json={"phone": citizen["phone"], "code": code}
    )
    assert right.status_code == 200, right.text
    replayed = await gateway.post(
        "/api/v1/auth/verify-phone", json={"phone": citizen["phone"], "code": code}
    )
    assert replayed.status_code == 400
    assert replayed.json()["reason"] == "otp-invalid"


async def test_an_expired_code_is_refused_and_a_new_one_works(
    gateway: httpx.AsyncClient,
    gateway_settings: Settings,
    register: Callable[..., Any],
    engine: AsyncEngine,
) -> None:
    citizen = await register(verified=False)
    code = await otp_code(gateway_settings, citizen["phone"])
    async with engine.begin() as connection:
        await connection.execute(
            update(store.otps)
            .where(store.otps.c.purpose == "verify_phone")
            .where(store.otps.c.phone == e164(citizen["phone"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = await gateway.post(
        "/api/v1/auth/verify-phone", json={"phone": citizen["phone"], "code": code}
    )
    assert expired.status_code == 400
    again = await gateway.post("/api/v1/auth/otp", json={"phone": citizen["phone"]})
    assert again.status_code == 202, again.text
    assert again.json()["sent_to"].startswith("+62812")

    new_code = await eventually(
        lambda: _changed(otp_code(gateway_settings, citizen["phone"]), code), timeout=20
    )
    verified = await gateway.post(
        "/api/v1/auth/verify-phone", json={"phone": citizen["phone"], "code": new_code}
    )
    assert verified.status_code == 200, verified.text


async def test_too_many_wrong_codes_need_a_new_code(
    gateway: httpx.AsyncClient, gateway_settings: Settings, register: Callable[..., Any]
) -> None:
    citizen = await register(verified=False)
    code = await otp_code(gateway_settings, citizen["phone"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(gateway_settings.otp_attempts):
        await gateway.post(
            "/api/v1/auth/verify-phone", json={"phone": citizen["phone"], "code": wrong}
        )
    blocked = await gateway.post(
        "/api/v1/auth/verify-phone", json={"phone": citizen["phone"], "code": code}
    )
    assert blocked.status_code == 429
    assert blocked.json()["reason"] == "otp-attempts-exhausted"


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    tokens = (await register())["tokens"]
    refreshed = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    assert (
        await gateway.get("/api/v1/auth/me", headers=bearer(refreshed.json()))
    ).status_code == 200

    reused = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert reused.status_code == 401
    assert reused.json()["reason"] == "refresh-token-reused"
    assert reused.json()["error"] == "invalid_grant"
    after = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]},
    )
    assert after.status_code == 401, "the thief's copy dies with the session"
    me = await gateway.get("/api/v1/auth/me", headers=bearer(refreshed.json()))
    assert me.status_code == 401


async def test_logout_ends_access_and_refresh(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    tokens = (await register())["tokens"]
    assert (await gateway.post("/api/v1/auth/logout", headers=bearer(tokens))).status_code == 204
    me = await gateway.get("/api/v1/auth/me", headers=bearer(tokens))
    assert me.status_code == 401
    proxied = await gateway.get("/api/v1/applications", headers=bearer(tokens))
    assert proxied.status_code == 401, "the gateway refuses ended sessions before any service"
    assert proxied.json()["reason"] == "session-ended"
    refresh = await gateway.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.status_code == 401


async def test_password_change_ends_every_other_session(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    citizen = await register()
    phone_session = (await sign_in(gateway, citizen["phone"], PASSWORD)).json()
    changed = await gateway.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "sapi makan rumput hijau"},
        headers=bearer(citizen["tokens"]),
    )
    assert changed.status_code == 200, changed.text
    assert (await gateway.get("/api/v1/auth/me", headers=bearer(changed.json()))).status_code == 200
    for old in (citizen["tokens"], phone_session):
        assert (await gateway.get("/api/v1/auth/me", headers=bearer(old))).status_code == 401
        refresh = await gateway.post(
            "/api/v1/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
        )
        assert refresh.status_code == 401
    assert (await sign_in(gateway, citizen["nik"], PASSWORD)).status_code == 401
    assert (await sign_in(gateway, citizen["nik"], "sapi makan rumput hijau")).status_code == 200


async def test_password_reset_with_a_code(
    gateway: httpx.AsyncClient, gateway_settings: Settings, register: Callable[..., Any]
) -> None:
    citizen = await register()
    asked = await gateway.post(
        "/api/v1/auth/otp", json={"phone": citizen["phone"], "purpose": "reset_password"}
    )
    assert asked.status_code == 202
    unknown = await gateway.post(
        "/api/v1/auth/otp", json={"phone": new_phone(), "purpose": "reset_password"}
    )
    assert unknown.status_code == 202, "no hint whether a number is registered"
    code = await otp_code(gateway_settings, citizen["phone"], purpose="reset_password")
    reset = await gateway.post(
        "/api/v1/auth/password/reset",
        json={"phone": citizen["phone"], "code": code, "new_password": "ikan berenang ke hulu"},
    )
    assert reset.status_code == 200, reset.text
    assert (
        await gateway.get("/api/v1/auth/me", headers=bearer(citizen["tokens"]))
    ).status_code == 401
    assert (await sign_in(gateway, citizen["phone"], "ikan berenang ke hulu")).status_code == 200


async def test_failed_sign_ins_are_slowed_then_locked(
    gateway: httpx.AsyncClient, gateway_settings: Settings, register: Callable[..., Any]
) -> None:
    citizen = await register()
    for _ in range(gateway_settings.login_slow_after):
        assert (await sign_in(gateway, citizen["nik"], "salah sandi")).status_code == 401
    slowed = await sign_in(gateway, citizen["nik"], "salah sandi")
    assert slowed.status_code == 429
    assert slowed.json()["reason"] == "login-slowed"
    assert int(slowed.headers["Retry-After"]) >= 1
    failures = gateway_settings.login_slow_after
    while failures < gateway_settings.login_lock_after:
        await asyncio.sleep(2 ** (failures - gateway_settings.login_slow_after) + 0.1)
        assert (await sign_in(gateway, citizen["nik"], "salah sandi")).status_code == 401
        failures += 1
    locked = await sign_in(gateway, citizen["nik"], PASSWORD)
    assert locked.status_code == 429, "even the right password waits out the lock"
    assert locked.json()["reason"] == "account-locked"
    assert int(locked.headers["Retry-After"]) > 60
    # The lock is the account's, not its NIK's: the phone number gets no guesses of its own.
    by_phone = await sign_in(gateway, citizen["phone"], PASSWORD)
    assert by_phone.status_code == 429
    assert by_phone.json()["reason"] == "account-locked"


async def test_forged_expired_and_unsigned_tokens_are_refused(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    tokens = (await register())["tokens"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    other_key = Ed25519PrivateKey.generate()
    forged = jwt.encode(claims | {"role": "mpp_admin"}, other_key, algorithm="EdDSA")
    unsigned = jwt.encode(claims | {"role": "mpp_admin"}, None, algorithm="none")  # type: ignore[arg-type]
    expired = Tokens().mint("citizen", ttl=-60)
    header, _, signature = tokens["access_token"].split(".")
    tampered = ".".join(
        [
            header,
            jwt.utils.base64url_encode(
                json.dumps(claims | {"role": "mpp_admin"}).encode()
            ).decode(),
            signature,
        ]
    )
    for bad in (forged, unsigned, expired, tampered, "not-a-token"):
        for path in ("/api/v1/auth/me", "/api/v1/applications"):
            response = await gateway.get(path, headers={"Authorization": f"Bearer {bad}"})
            assert response.status_code == 401, (path, bad[:20], response.text)
            assert response.headers["content-type"] == "application/problem+json"
    basic = await gateway.get("/api/v1/auth/me", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


async def test_services_verify_tokens_with_the_published_keys(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    citizen = await register()
    keys = await gateway.get("/api/v1/.well-known/jwks.json")
    assert keys.status_code == 200
    assert {k["kty"] for k in keys.json()["keys"]} == {"OKP"}
    assert all("d" not in k for k in keys.json()["keys"]), "no private part is published"
    verifier = TokenVerifier(AuthSettings(jwks=keys.text))
    caller = verifier.verify(citizen["tokens"]["access_token"])
    assert (caller.subject, caller.role) == (citizen["id"], "citizen")
    assert caller.session


async def test_profile_changes_are_events_and_the_phone_cannot_be_changed_there(
    gateway: httpx.AsyncClient, register: Callable[..., Any]
) -> None:
    citizen = await register()
    changed = await gateway.patch(
        "/api/v1/auth/me",
        json={"language": "en", "email": "andi.baso@example.id"},
        headers=bearer(citizen["tokens"]),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["language"], changed.json()["email"]) == ("en", "andi.baso@example.id")
    phone = await gateway.patch(
        "/api/v1/auth/me", json={"phone": new_phone()}, headers=bearer(citizen["tokens"])
    )
    assert phone.status_code == 422


async def test_request_ids_and_security_headers(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(
        "/api/v1/.well-known/jwks.json", headers={"X-Request-Id": "abc-123"}
    )
    assert response.headers["X-Request-Id"] == "abc-123"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    made_up = await gateway.get(
        "/api/v1/.well-known/jwks.json", headers={"X-Request-Id": "<script>"}
    )
    assert made_up.headers["X-Request-Id"] != "<script>"


async def _changed(latest: Any, old: str) -> str | None:
    code: str = await latest
    return code if code != old else None


async def test_text_the_database_cannot_store_is_refused_not_a_server_error(
    gateway: httpx.AsyncClient,
) -> None:
    registered = await gateway.post(
        "/api/v1/auth/register",
        json={"nik": new_nik(), "name": "Andi\x00Baso", "phone": new_phone(), "password": PASSWORD},
    )
    assert registered.status_code == 422, registered.text
    signed = await sign_in(gateway, "admin\x00", PASSWORD)
    assert signed.status_code in (401, 422), signed.text


async def test_answers_with_tokens_or_personal_data_are_not_stored_but_the_public_keys_are(
    gateway: httpx.AsyncClient, register: Callable[..., Any], admin: dict[str, str]
) -> None:
    registered = await gateway.post(
        "/api/v1/auth/register",
        json={"nik": new_nik(), "name": "Andi Baso", "phone": new_phone(), "password": PASSWORD},
    )
    citizen = await register()
    signed_in = await sign_in(gateway, citizen["nik"], PASSWORD)
    me = await gateway.get("/api/v1/auth/me", headers=bearer(citizen["tokens"]))
    identity = await gateway.get(f"/api/v1/auth/citizens/{citizen['id']}", headers=admin)
    keys = await gateway.get("/api/v1/.well-known/jwks.json")
    assert (registered.status_code, signed_in.status_code) == (201, 200)
    assert (me.status_code, identity.status_code) == (200, 200), identity.text
    for answer in (registered, signed_in, me, identity):
        assert answer.headers["cache-control"] == "no-store", answer.url
    assert keys.headers["cache-control"] == "public, max-age=300"
