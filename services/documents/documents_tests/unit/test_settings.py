"""Production refuses to issue outputs with a key derived from a development secret."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from documents.settings import Settings

SECRET = SecretStr("a-real-secret-from-the-cluster")


def production(signing_key: str = "", content_key: SecretStr = SECRET) -> Settings:
    return Settings(
        environment="production",
        secret_key=SECRET,
        s3_secret_key=SECRET,
        postgres_password=SECRET,
        output_signing_key=SecretStr(signing_key),
        output_content_key=content_key,
    )


def test_production_needs_the_regencys_signing_key() -> None:
    with pytest.raises(ValidationError, match="MPP_OUTPUT_SIGNING_KEY"):
        production()
    production(signing_key="pem")


def test_production_needs_the_key_shared_with_applications_for_what_outputs_print() -> None:
    with pytest.raises(ValidationError, match="MPP_OUTPUT_CONTENT_KEY"):
        production(signing_key="pem", content_key=Settings().output_content_key)
