"""The gateway's settings, from `MPP_`-prefixed environment variables."""

from mpp_shared.settings import S3Settings, ServiceSettings


class Settings(ServiceSettings, S3Settings):
    """Settings of the gateway: where each service and each server is."""

    service_name: str = "gateway"
    http_port: int = 8080

    catalog_url: str = "http://127.0.0.1:8101"
    applications_url: str = "http://127.0.0.1:8102"
    documents_url: str = "http://127.0.0.1:8103"
    notifications_url: str = "http://127.0.0.1:8104"
    mailpit_url: str = "http://127.0.0.1:8025"

    upstream_connect_timeout: float = 2.0
    upstream_read_timeout: float = 30.0

    def upstreams(self) -> dict[str, str]:
        """Each service's base URL, by name."""
        return {
            "catalog": self.catalog_url,
            "applications": self.applications_url,
            "documents": self.documents_url,
            "notifications": self.notifications_url,
        }
