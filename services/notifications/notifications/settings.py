"""The notifications service's settings, from `MPP_`-prefixed environment variables."""

from mpp_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the notifications service."""

    service_name: str = "notifications"
    http_port: int = 8104
