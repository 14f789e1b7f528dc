"""The whole mall's API fuzzed from its own OpenAPI document (schemathesis), through the gateway,
as an anonymous caller, a citizen and an officer: no request, however malformed, gets a 5xx.

A few examples per operation and caller keep the run to minutes; a failure prints the request
that reproduces it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from ..conftest import Platform, register_citizen, staff_member

EXAMPLES = 8


@pytest.fixture(scope="session")
def callers(platform: Platform) -> dict[str, dict[str, str]]:
    """Who calls: the headers of each kind of caller."""
    return {
        "anonymous": {},
        "citizen": register_citizen(platform, "Andi Fuzz")["headers"],
        "officer": staff_member(platform, "officer", "DISDUKCAPIL"),
    }


@pytest.fixture(scope="session")
def api(platform: Platform) -> Any:
    document = httpx.get(f"{platform.gateway}/api/v1/openapi.json", timeout=30).json()
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.update(base_url=platform.gateway)
    # Signing out, or the sign-in steps that send codes and lock accounts, would end or slow
    # the callers' own sessions: they are tried by the other security tests.
    return loaded.exclude(path_regex=r"^/api/v1/auth/(logout|password|otp|register|token)")


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def fuzz(api: Any, headers: dict[str, str]) -> tuple[int, int, list[str]]:
    """Operations tried, requests sent, and each request answered with a 5xx (as curl)."""
    operations = requests = 0
    failures: list[str] = []
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @FUZZ
        def attempt(case: Any) -> None:
            nonlocal requests
            requests += 1
            response = case.call(headers=headers, timeout=30)
            if response.status_code >= 500:
                failures.append(f"{response.status_code}: {case.as_curl_command(headers)}")

        attempt()
    return operations, requests, failures


@pytest.mark.parametrize("caller", ["anonymous", "citizen", "officer"])
def test_no_request_gets_a_server_error(
    api: Any, callers: dict[str, dict[str, str]], caller: str
) -> None:
    operations, requests, failures = fuzz(api, callers[caller])
    print(f"{caller}: {operations} operations, {requests} requests, {len(failures)} 5xx")
    assert operations > 50, "the merged OpenAPI document lost the services' operations"
    assert not failures, "\n".join(failures[:20])
