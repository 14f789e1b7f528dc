"""Settings and list helpers, without servers."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from mpp_shared import pagination
from mpp_shared.problems import Problem
from mpp_shared.settings import S3Settings, ServiceSettings


class WithS3(ServiceSettings, S3Settings):
    pass


def test_default_secrets_are_refused_in_production() -> None:
    database = {"postgres_password": SecretStr("from-the-vault")}
    with pytest.raises(ValidationError, match="MPP_SECRET_KEY must be set"):
        ServiceSettings(service_name="catalog", environment="production", **database)
    with pytest.raises(ValidationError, match="MPP_POSTGRES_PASSWORD must be set"):
        ServiceSettings(
            service_name="catalog", environment="production", secret_key=SecretStr("x" * 32)
        )
    with pytest.raises(ValidationError, match="MPP_S3_SECRET_KEY must be set"):
        WithS3(
            service_name="documents",
            environment="production",
            secret_key=SecretStr("s3cr3t-from-vault"),
            **database,
        )
    assert ServiceSettings(
        service_name="catalog",
        environment="production",
        secret_key=SecretStr("x" * 32),
        **database,
    )


def test_namespace_separates_databases_topics_groups_and_buckets() -> None:
    plain = ServiceSettings(service_name="applications")
    assert (
        plain.database_name,
        plain.topic("catalog.events"),
        plain.consumer_group,
        plain.dlq_topic,
    ) == (
        "mpp_applications",
        "catalog.events",
        "applications",
        "applications.dlq",
    )
    test = ServiceSettings(service_name="applications", namespace="t1")
    assert (
        test.database_name,
        test.topic("catalog.events"),
        test.consumer_group,
        test.bucket("documents"),
    ) == (
        "t1_applications",
        "t1.catalog.events",
        "t1.applications",
        "t1-documents",
    )


def test_pages_carry_a_cursor_only_when_more_items_follow() -> None:
    full = pagination.page(["a", "b", "c"], limit=2, key=str)
    assert full.items == ["a", "b"]
    assert pagination.decode_cursor(full.next_cursor) == "b"
    assert pagination.page(["a", "b"], limit=2, key=str).next_cursor is None
    assert pagination.page([], limit=2, key=str).next_cursor is None


@pytest.mark.parametrize("cursor", ["%%%", "a", "////", "gA"])
def test_malformed_cursors_are_a_400_problem(cursor: str) -> None:
    with pytest.raises(Problem) as raised:
        pagination.decode_cursor(cursor)
    assert raised.value.status == 400
