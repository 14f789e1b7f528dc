"""The whole mall's API fuzzed from its own OpenAPI document (schemathesis), through the gateway,
as an anonymous caller, a citizen and an officer: no request, however malformed, gets a 5xx.

A few examples per operation and caller keep the run to minutes; a failure prints the request
that reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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


CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Findings:
    operations: int = 0
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)  # each as the curl to reproduce it
    # Answers the document does not describe (status, content type or body), one per operation
    # and kind, with the first example.
    nonconforming: dict[str, str] = field(default_factory=dict)


def fuzz(api: Any, headers: dict[str, str]) -> Findings:
    """Every operation tried with generated requests; what came back that should not have."""
    found = Findings()
    for result in api.get_all_operations():
        operation = result.ok()
        found.operations += 1

        @given(case=operation.as_strategy())
        @FUZZ
        def attempt(case: Any) -> None:
            found.requests += 1
            response = case.call(headers=headers, timeout=30)
            if response.status_code >= 500:
                found.server_errors.append(f"{response.status_code}: {case.as_curl_command()}")
                return
            try:
                case.validate_response(response, checks=CONFORMANCE)
            except (AssertionError, BaseExceptionGroup) as failure:
                kind = str(failure).split("\n\n- ", 1)[-1].split("\n", 1)[0]
                found.nonconforming.setdefault(
                    f"{case.operation.label}: {kind}", f"{response.status_code} {failure}"[:1500]
                )

        attempt()
    return found


@pytest.mark.parametrize("caller", ["anonymous", "citizen", "officer"])
def test_every_answer_is_a_documented_one_and_none_a_server_error(
    api: Any, callers: dict[str, dict[str, str]], caller: str
) -> None:
    found = fuzz(api, callers[caller])
    print(
        f"{caller}: {found.operations} operations, {found.requests} requests, "
        f"{len(found.server_errors)} 5xx, {len(found.nonconforming)} undocumented answers"
    )
    assert found.operations > 50, "the merged OpenAPI document lost the services' operations"
    assert not found.server_errors, "\n".join(found.server_errors[:20])
    assert not found.nonconforming, "\n".join(
        f"{k}\n    {v}" for k, v in found.nonconforming.items()
    )
