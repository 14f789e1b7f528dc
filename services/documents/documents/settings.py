"""The documents service's settings, from `MPP_`-prefixed environment variables."""

from pydantic import SecretStr, model_validator

from mpp_shared.settings import DEVELOPMENT_SECRET, S3Settings, ServiceSettings


class Settings(ServiceSettings, S3Settings):
    """Settings of the documents service."""

    service_name: str = "documents"
    http_port: int = 8103

    # Uploads: the limit when the catalog's requirement sets none, and the formats accepted.
    default_max_upload_mb: int = 10
    # Presigned URLs are signed for the S3 address phones and browsers reach (behind a proxy or a
    # CDN it differs from the internal one); empty means the same as MPP_S3_ENDPOINT.
    s3_public_endpoint: str = ""
    upload_url_minutes: int = 15
    # How long finalize looks for a presigned upload's content before it answers content-missing:
    # some S3 stores show an object a moment after they acknowledged it.
    upload_arrival_seconds: float = 2.0
    download_url_seconds: int = 60
    # Documents never attached to an application are removed after this long.
    unattached_hours: int = 24
    cleanup_interval_seconds: float = 600.0

    # Issued outputs: who issues them, where they are verified, the key that signs them (Ed25519
    # PEM; in development derived from the secret key).
    regency_name: str = "Sinjai"  # printed as "Pemerintah Kabupaten Sinjai"
    public_base_url: str = "http://127.0.0.1:8080"
    output_signing_key: SecretStr = SecretStr("")
    # Opens what an output prints, sealed by the applications service with the same value
    # (MPP_OUTPUT_CONTENT_KEY). Refused as the default in production.
    output_content_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    # Wrong PINs allowed in a day: from one address, and from all addresses together.
    pin_attempts: int = 5
    pin_attempts_per_day: int = 50

    @model_validator(mode="after")
    def _signing_key_in_production(self) -> "Settings":
        if self.environment == "production" and not self.output_signing_key.get_secret_value():
            raise ValueError("MPP_OUTPUT_SIGNING_KEY must be set outside development")
        return self

    @property
    def bucket_name(self) -> str:
        """The bucket holding uploaded documents and issued outputs."""
        return self.bucket("documents")
