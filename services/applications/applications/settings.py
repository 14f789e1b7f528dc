"""The applications service's settings, from `MPP_`-prefixed environment variables."""

from mpp_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the applications service."""

    service_name: str = "applications"
    http_port: int = 8102
