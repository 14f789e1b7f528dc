"""Production refuses to start without the keys it would otherwise invent."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from notifications.settings import Settings

SECRET = SecretStr("a-real-secret-from-the-cluster")
# What production always has; the keys below are what these tests leave out.
CLUSTER = {"secret_key": SECRET, "postgres_password": SECRET}


def test_production_needs_a_vapid_key_and_the_providers_key() -> None:
    with pytest.raises(ValidationError, match="MPP_VAPID_PRIVATE_KEY"):
        Settings(environment="production", **CLUSTER)
    with pytest.raises(ValidationError, match="MPP_INFOBIP_API_KEY"):
        Settings(
            environment="production",
            **CLUSTER,
            vapid_private_key=SecretStr("pem"),
            sms_provider="infobip",
        )
    assert not Settings(
        environment="production", **CLUSTER, vapid_private_key=SecretStr("pem")
    ).webhooks_may_reach_private_addresses


def test_development_needs_no_keys() -> None:
    assert Settings().webhooks_may_reach_private_addresses
