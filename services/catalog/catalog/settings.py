"""The catalog service's settings, from `MPP_`-prefixed environment variables."""

from mpp_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the catalog service."""

    service_name: str = "catalog"
    http_port: int = 8101
