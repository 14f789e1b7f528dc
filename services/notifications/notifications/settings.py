"""The notifications service's settings, from `MPP_`-prefixed environment variables."""

from typing import Literal

from pydantic import SecretStr

from mpp_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the notifications service: where mail goes and which SMS provider sends."""

    service_name: str = "notifications"
    http_port: int = 8104

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "MPP Elektronik <noreply@mpp.local>"

    # `sandbox` records each SMS as an e-mail to <number>@sms.sandbox (read it in Mailpit).
    sms_provider: Literal["sandbox"] = "sandbox"
    sms_sandbox_domain: str = "sms.sandbox"
