"""The gateway's settings, from `MPP_`-prefixed environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import limits
from pydantic import SecretStr, field_validator, model_validator

from mpp_shared.settings import DEVELOPMENT_SECRET, S3Settings, ServiceSettings


class Settings(ServiceSettings, S3Settings):
    """Settings of the gateway: where each service and server is, and how identities are kept."""

    service_name: str = "gateway"
    http_port: int = 8080

    catalog_url: str = "http://127.0.0.1:8101"
    applications_url: str = "http://127.0.0.1:8102"
    documents_url: str = "http://127.0.0.1:8103"
    notifications_url: str = "http://127.0.0.1:8104"
    mailpit_url: str = "http://127.0.0.1:8025"

    upstream_connect_timeout: float = 2.0
    upstream_read_timeout: float = 30.0
    # How often the command center's live stream (/api/v1/ops/live) reads the figures, seconds.
    ops_live_interval: float = 5.0

    # Encrypts NIKs at rest and keys their look-up hash (two keys derived from it).
    pii_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    # Ed25519 private keys in PEM, newest first: the first signs, all are published in the JWKS
    # (so tokens signed before a rotation stay valid). In development, derived from secret_key.
    token_signing_keys: SecretStr = SecretStr("")
    access_token_minutes: int = 10
    refresh_token_days: int = 30

    # The administrator created on first start, who then creates every other staff account.
    bootstrap_admin_username: str = "admin"
    bootstrap_admin_password: SecretStr = SecretStr(DEVELOPMENT_SECRET)

    cors_origins: list[str] = []
    # The built web apps (`make web`); the gateway's image keeps them at the same place.
    web_dir: Path = Path(__file__).resolve().parents[2] / "web" / "dist"
    # Origins the pages may show uploaded documents from (S3's public endpoint, whose short-lived
    # links the documents service hands out); empty: the S3 endpoint named here.
    web_media_origins: list[str] = []
    # The proxies in front of the gateway (addresses or CIDRs, e.g. the load balancer's): their
    # X-Forwarded-For is believed, and the client is its right-most address that is not one of
    # them. Empty: the connecting address is the client, whatever the request's headers say.
    trusted_proxies: list[str] = []
    # Rate limits, per gateway replica (https://limits.readthedocs.io notation). A mall's Wi-Fi
    # or a carrier's NAT puts hundreds of citizens behind one address, so the per-address
    # limits are wide; the tight limits are per account (and failed sign-ins lock the account).
    rate_limit_per_client: str = "3000/minute"  # calls without a valid token, per address
    rate_limit_per_account: str = "600/minute"  # calls with one, per account
    # The public sign-in steps (register, codes, sign-in, reset), per address; of which those
    # that send an SMS (register, codes), per address.
    rate_limit_auth_per_client: str = "1200/10 minutes"
    rate_limit_codes_per_client: str = "300/hour"
    # Failed sign-ins from one address, over every account (password spraying); beyond it the
    # address's sign-ins wait.
    rate_limit_failed_sign_ins_per_client: str = "100/15 minutes"

    otp_minutes: int = 5
    otp_resend_seconds: int = 60
    otp_per_hour: int = 5
    otp_attempts: int = 5
    # Failed sign-ins per account within the window: slowed after `slow_after`, locked after
    # `lock_after` for `lock_minutes`.
    login_window_minutes: int = 15
    login_slow_after: int = 3
    login_lock_after: int = 10
    login_lock_minutes: int = 15

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # a ValueError names the bad entry
        return value

    @field_validator(
        "rate_limit_per_client",
        "rate_limit_per_account",
        "rate_limit_auth_per_client",
        "rate_limit_codes_per_client",
        "rate_limit_failed_sign_ins_per_client",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        limits.parse(value)  # a ValueError names the bad limit
        return value

    @model_validator(mode="after")
    def _signing_keys_in_production(self) -> Settings:
        if self.environment == "production" and not self.token_signing_keys.get_secret_value():
            raise ValueError("MPP_TOKEN_SIGNING_KEYS must be set outside development")
        return self

    def media_origins(self) -> list[str]:
        """Where previews of uploaded documents come from."""
        if self.web_media_origins:
            return self.web_media_origins
        return [f"{'https' if self.s3_secure else 'http'}://{self.s3_endpoint}"]

    def upstreams(self) -> dict[str, str]:
        """Each service's base URL, by name."""
        return {
            "catalog": self.catalog_url,
            "applications": self.applications_url,
            "documents": self.documents_url,
            "notifications": self.notifications_url,
        }
