"""Verifying the gateway's access tokens inside every service, and coarse role checks.

The gateway issues short-lived EdDSA-signed JWTs; each service verifies them against the
gateway's public keys (a JWKS given in `MPP_JWKS`, or fetched and cached from `MPP_JWKS_URL`)
and then applies its own fine-grained rules from the claims.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from functools import cached_property
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict
from pydantic_settings import BaseSettings, SettingsConfigDict

from mpp_shared.problems import Problem

Role = Literal["citizen", "officer", "agency_admin", "mpp_admin", "ops_viewer", "partner"]
ISSUER = "mpp-gateway"
AUDIENCE = "mpp"
ALGORITHMS = ["EdDSA"]
VERIFIED_TOKENS_KEPT = 50_000


class AuthSettings(BaseSettings):
    """Where the gateway's public keys are."""

    model_config = SettingsConfigDict(env_prefix="MPP_", extra="ignore")

    jwks: str | None = None  # a JWKS document, inline
    jwks_url: str = "http://127.0.0.1:8080/api/v1/.well-known/jwks.json"


class Principal(BaseModel):
    """Who is calling, as the verified token says."""

    model_config = ConfigDict(frozen=True)

    subject: str
    role: Role
    agency: str | None = None  # the agency code of officers and agency administrators
    session: str | None = None  # the sign-in session, for people (not for partners' keys)
    scopes: tuple[str, ...] = ()  # what a partner's key may do

    def is_staff_of(self, agency: str) -> bool:
        """True for the agency's officers and administrators, and for MPP administrators."""
        return self.role == "mpp_admin" or (
            self.role in ("officer", "agency_admin") and self.agency == agency
        )


class TokenVerifier:
    """Checks signature, expiry, issuer and audience of access tokens."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        # Tokens already verified, with the principal and expiry they carry: a signature check
        # costs more than the rest of a small read (a client sends the same token for minutes).
        self._verified: dict[str, tuple[Principal, float]] = {}

    @cached_property
    def _keys(self) -> jwt.PyJWKSet | jwt.PyJWKClient:
        if self.settings.jwks:
            return jwt.PyJWKSet.from_json(self.settings.jwks)
        return jwt.PyJWKClient(self.settings.jwks_url, cache_keys=True, lifespan=300, timeout=5)

    def _key_for(self, token: str) -> Any:
        """The key that signed the token; may fetch the JWKS (blocking)."""
        keys = self._keys
        if isinstance(keys, jwt.PyJWKClient):
            return keys.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        for key in keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidKeyError(f"no key {kid!r}")

    def _cached_key(self, token: str) -> Any | None:
        """The signing key if it is known without fetching: the common case, checked on the
        event loop; None sends the caller to `_key_for` in a thread."""
        keys = self._keys
        if not isinstance(keys, jwt.PyJWKClient):
            return self._key_for(token)
        cached = keys.jwk_set_cache.get() if keys.jwk_set_cache is not None else None
        if cached is None:
            return None
        kid = jwt.get_unverified_header(token).get("kid")
        return next((key.key for key in cached.keys if key.key_id == kid), None)

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; a 401 problem for any invalid token. Blocks
        while the gateway's keys are fetched: `verify_async` in a request."""
        known = self._known(token)
        if known is not None:
            return known
        try:
            return self._decode(token, self._key_for(token))
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise _unauthorized("invalid_token") from exc

    async def verify_async(self, token: str) -> Principal:
        """`verify` for the event loop: the keys in hand are used at once (a signature check
        is tens of microseconds), a fetch of the gateway's keys runs in a thread."""
        known = self._known(token)
        if known is not None:
            return known
        try:
            key = self._cached_key(token)
            if key is None:
                key = await asyncio.to_thread(self._key_for, token)
            return self._decode(token, key)
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise _unauthorized("invalid_token") from exc

    def _known(self, token: str) -> Principal | None:
        """The principal of a token verified before and not yet expired."""
        known = self._verified.get(token)
        if known is None:
            return None
        if time.time() < known[1]:
            return known[0]
        del self._verified[token]
        return None

    def _decode(self, token: str, key: Any) -> Principal:
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        principal = Principal(
            subject=claims["sub"],
            role=claims["role"],
            agency=claims.get("agency"),
            session=claims.get("sid"),
            scopes=tuple(str(claims.get("scope", "")).split()),
        )
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = (principal, float(claims["exp"]))
        return principal


def _unauthorized(error: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        detail={
            "id": "Token akses tidak ada, tidak sah, atau sudah kedaluwarsa. Silakan masuk lagi.",
            "en": "The access token is missing, invalid or expired. Please sign in again.",
        },
        headers={"WWW-Authenticate": f'Bearer error="{error}"'},
    )


def _session_ended() -> Problem:
    return Problem(
        401,
        "unauthorized",
        detail={
            "id": "Sesi sudah berakhir (keluar, kata sandi diganti, atau akun dinonaktifkan). "
            "Silakan masuk lagi.",
            "en": "The session has ended (signed out, password changed or account switched "
            "off). Please sign in again.",
        },
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        reason="session-ended",
    )


def verifier_of(request: Request) -> TokenVerifier:
    """The app's verifier, made on first use."""
    state = request.app.state
    if getattr(state, "token_verifier", None) is None:
        state.token_verifier = TokenVerifier(AuthSettings())
    verifier: TokenVerifier = state.token_verifier
    return verifier


# Dependencies are coroutines: FastAPI runs a plain function in a worker thread, a hop that
# costs more than the work of any of these.
async def optional_principal(request: Request) -> Principal | None:
    """The caller if a bearer token came with the request; an invalid token is still a 401."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("invalid_request")
    found = await verifier_of(request).verify_async(token.strip())
    if found.session is not None:
        runtime = getattr(request.app.state, "runtime", None)
        ended = getattr(runtime, "ended_sessions", None)
        if ended is not None and found.session in ended:
            raise _session_ended()
    request.state.principal = found  # for the audit of the read (mpp_shared.read_audit)
    return found


async def principal(request: Request) -> Principal:
    """The authenticated caller; a 401 problem without a valid token."""
    found = await optional_principal(request)
    if found is None:
        raise _unauthorized("invalid_request")
    return found


def require(*roles: Role, source: Any = principal) -> Any:
    """A dependency admitting only the given roles (403 otherwise); `source` is the dependency
    that finds the caller (the gateway's own also checks the session)."""

    # A default, not an annotation: annotations are strings here, and `source` is local.
    async def check(caller: Principal = Depends(source)) -> Principal:  # noqa: B008
        if caller.role not in roles:
            raise Problem(
                403,
                "forbidden",
                detail={
                    "id": "Peran Anda tidak diizinkan melakukan ini.",
                    "en": "Your role may not do this.",
                },
            )
        return caller

    return Depends(check)


CurrentPrincipal = Annotated[Principal, Depends(principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def jwks_of(private_keys: list[Any]) -> str:
    """A JWKS document for Ed25519 private keys' public halves (used by the gateway and tests)."""
    return json.dumps({"keys": [public_jwk(key) for key in private_keys]})


def public_jwk(private_key: Any) -> dict[str, str]:
    """The public JWK of an Ed25519 key, its `kid` the RFC 7638 thumbprint (stable across
    rotations)."""
    from jwt.algorithms import OKPAlgorithm

    jwk: dict[str, str] = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"))
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())
    return jwk | {"kid": thumbprint.decode().rstrip("="), "use": "sig", "alg": "EdDSA"}
