"""Access tokens: short-lived EdDSA JWTs the gateway signs and every service verifies.

Refresh tokens are not JWTs: they are `<session id>.<secret>`, kept hashed in the session
(identity/store.py), rotated on each use and revocable.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gateway.settings import Settings
from mpp_shared.auth import (
    ALGORITHMS,
    AUDIENCE,
    ISSUER,
    AuthSettings,
    Principal,
    TokenVerifier,
    jwks_of,
    public_jwk,
)

PEM_END = "-----END PRIVATE KEY-----"


def signing_keys(settings: Settings) -> list[Ed25519PrivateKey]:
    """The configured keys, newest first; in development one derived from the secret key."""
    text = settings.token_signing_keys.get_secret_value().strip()
    if not text:
        seed = hashlib.sha256(
            b"mpp:token-signing:" + settings.secret_key.get_secret_value().encode()
        )
        return [Ed25519PrivateKey.from_private_bytes(seed.digest())]
    keys = []
    for block in text.split(PEM_END):
        if block.strip():
            key = load_pem_private_key((block.strip() + "\n" + PEM_END).encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("MPP_TOKEN_SIGNING_KEYS must hold Ed25519 keys")
            keys.append(key)
    return keys


@dataclass(frozen=True)
class Claims:
    """What an access token says about its bearer."""

    subject: str
    role: str
    session: str | None = None
    agency: str | None = None
    scopes: tuple[str, ...] = ()


class TokenIssuer:
    """Signs access tokens with the newest key and publishes every key's public half."""

    def __init__(self, settings: Settings) -> None:
        self.keys = signing_keys(settings)
        self.ttl = settings.access_token_minutes * 60
        self.jwks = jwks_of(self.keys)
        self.kid = public_jwk(self.keys[0])["kid"]
        self.verifier = TokenVerifier(AuthSettings(jwks=self.jwks))

    def issue(self, claims: Claims, *, ttl: int | None = None) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        now = int(time.time())
        lifetime = ttl or self.ttl
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": claims.subject,
            "role": claims.role,
            "iat": now,
            "nbf": now - 5,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        if claims.session:
            body["sid"] = claims.session
        if claims.agency:
            body["agency"] = claims.agency
        if claims.scopes:
            body["scope"] = " ".join(claims.scopes)
        token = jwt.encode(body, self.keys[0], algorithm=ALGORITHMS[0], headers={"kid": self.kid})
        return token, lifetime

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; a 401 problem otherwise."""
        return self.verifier.verify(token)


def new_secret() -> str:
    """A random secret for refresh tokens and API keys (256 bits)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """How a high-entropy secret is stored: its SHA-256 (no salt needed at 256 bits)."""
    return hashlib.sha256(secret.encode()).hexdigest()
