"""The documents service's settings, from `MPP_`-prefixed environment variables."""

from mpp_shared.settings import S3Settings, ServiceSettings


class Settings(ServiceSettings, S3Settings):
    """Settings of the documents service."""

    service_name: str = "documents"
    http_port: int = 8103

    @property
    def bucket_name(self) -> str:
        """The bucket holding uploaded documents and issued outputs."""
        return self.bucket("documents")
