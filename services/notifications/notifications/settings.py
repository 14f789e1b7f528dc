"""The notifications service's settings, from `MPP_`-prefixed environment variables."""

from typing import Literal

from pydantic import SecretStr, model_validator

from mpp_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the notifications service: channels, providers, partners' webhooks."""

    service_name: str = "notifications"
    http_port: int = 8104

    # Links in messages point at the citizen app behind the gateway.
    public_base_url: str = "http://127.0.0.1:8080"
    mall_name: str = "MPP Elektronik Kabupaten Sinjai"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "MPP Elektronik <noreply@mpp.local>"

    # SMS and WhatsApp: `sandbox` records each message (as an e-mail to <number>@sms.sandbox or
    # <number>@wa.sandbox in Mailpit, and in the service's store); `infobip` sends through
    # Infobip's HTTP API (base URL and API key below).
    sms_provider: Literal["sandbox", "infobip"] = "sandbox"
    whatsapp_provider: Literal["sandbox", "infobip"] = "sandbox"
    sms_sandbox_domain: str = "sms.sandbox"
    whatsapp_sandbox_domain: str = "wa.sandbox"
    infobip_base_url: str = "https://api.infobip.com"
    infobip_api_key: SecretStr = SecretStr("")
    sms_sender: str = "MPP-SINJAI"
    whatsapp_sender: str = ""
    # Messages per second per provider (providers throttle; we stay under their limit).
    provider_rate: str = "20/second"

    # Web Push (VAPID): the key pair the citizen app's service worker subscribes with.
    vapid_private_key: SecretStr = SecretStr("")
    vapid_subject: str = "mailto:noreply@mpp.local"

    # Retries of temporary failures: exponential backoff from `retry_initial_seconds`.
    retry_initial_seconds: float = 5.0
    retry_max_attempts: int = 6
    delivery_poll_seconds: float = 1.0

    # Partners' webhooks.
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 8
    webhook_disable_after_failures: int = 20

    @model_validator(mode="after")
    def _provider_keys_in_production(self) -> "Settings":
        if self.environment != "production":
            return self
        if not self.vapid_private_key.get_secret_value():
            raise ValueError("MPP_VAPID_PRIVATE_KEY must be set outside development")
        uses_infobip = "infobip" in (self.sms_provider, self.whatsapp_provider)
        if uses_infobip and not self.infobip_api_key.get_secret_value():
            raise ValueError("MPP_INFOBIP_API_KEY must be set when a provider is infobip")
        return self

    @property
    def webhooks_may_reach_private_addresses(self) -> bool:
        """Private, loopback and link-local webhook URLs only outside production."""
        return self.environment != "production"
