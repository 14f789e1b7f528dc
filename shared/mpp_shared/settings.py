"""Settings every service reads from the environment, and the names derived from them."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Only for development and tests; refused anywhere else.
DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105


class ServiceSettings(BaseSettings):
    """Base of every service's settings: `MPP_`-prefixed environment variables."""

    model_config = SettingsConfigDict(env_prefix="MPP_", extra="ignore")

    service_name: str
    environment: Literal["development", "test", "production"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # Where Prometheus scrapes `/metrics`: a port of its own, never published. Unset: on the API
    # port, except at the gateway, which is public and then serves no metrics.
    metrics_port: int | None = None
    log_level: str = "INFO"

    # A namespace keeps a test run's databases, topics, consumer groups and buckets apart from
    # those of a running development platform on the same servers. Empty in normal operation.
    namespace: str = ""

    # The service's own PostgreSQL database, signed in as its own role (`mpp_<service>` unless
    # set); the database is `database_name` unless set.
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str | None = None
    postgres_password: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    postgres_database: str | None = None
    postgres_pool_size: int = 10
    # How long a request waits for a free connection before it is answered 503 (busy): shorter
    # than a caller's patience (a phone gives up after about 5 s), so an overloaded service sheds
    # load with an answer rather than hanging.
    postgres_pool_timeout: float = 3.0
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_partitions: int = 3
    # Replicas of each topic the services create; 1 on the local single broker, 3 on a cluster.
    kafka_replication_factor: int = 1
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> ServiceSettings:
        if self.environment == "production":
            for name, value in self:
                if isinstance(value, SecretStr) and value.get_secret_value() == DEVELOPMENT_SECRET:
                    raise ValueError(f"MPP_{name.upper()} must be set outside development")
        return self

    @property
    def database_name(self) -> str:
        """The service's own database."""
        return f"{self.namespace or 'mpp'}_{self.service_name}"

    @property
    def postgres_role(self) -> str:
        """The role the service signs in as: its own."""
        return self.postgres_user or f"mpp_{self.service_name}"

    @property
    def postgres_database_name(self) -> str:
        """The service's PostgreSQL database."""
        return self.postgres_database or self.database_name

    def topic(self, name: str) -> str:
        """A topic's name within this namespace."""
        return f"{self.namespace}.{name}" if self.namespace else name

    @property
    def consumer_group(self) -> str:
        """The consumer group of this service: its own name."""
        return self.topic(self.service_name)

    @property
    def dlq_topic(self) -> str:
        """Where this service's consumer parks messages that keep failing."""
        return self.topic(f"{self.service_name}.dlq")

    def bucket(self, name: str) -> str:
        """An S3 bucket's name within this namespace."""
        return f"{self.namespace}-{name}" if self.namespace else name


class S3Settings(BaseSettings):
    """Access to the S3 server, for the services that keep or check blobs."""

    model_config = SettingsConfigDict(env_prefix="MPP_", extra="ignore")

    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "mppdev"
    s3_secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    s3_secure: bool = False
    s3_region: str = "us-east-1"
