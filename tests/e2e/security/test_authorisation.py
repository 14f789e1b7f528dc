"""Every operation of the merged OpenAPI × every kind of caller, with the answer each gets.

The matrix is generated from the route table the gateway publishes, so a new route cannot slip
in without a decision: `authorisation.json` holds the status each caller gets from each
operation, reviewed by a person, and the test fails on any route missing from it or any answer
that changed (`MPP_AUTHZ_WRITE=1 make test-security` writes the observed matrix to review).
Beside that snapshot, rules that must hold whatever the routes: who may see citizen A's
application, documents and identity, what an anonymous caller, an operations viewer and
partners' keys may reach.

Calls are made with the resources of a real journey (citizen A's application to Disdukcapil,
its documents, A's identity); calls that change something are sent with an empty body or a
resource that does not exist, so that they show whether the door opens without changing state.
So a change's row says who gets past the door (and their answer, often 422); a rule its
handler applies after reading the body (a partner's scope to subscribe webhooks) is tested in
the service's own tests.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from mpp_shared.settings import DEVELOPMENT_SECRET

from ..conftest import Platform, register_citizen, sign_in, staff_member
from ..test_journey import SERVICE, apply

SNAPSHOT = Path(__file__).with_name("authorisation.json")
CALLERS = (
    "anonymous",
    "citizen A",
    "citizen B",
    "officer of the handling agency",
    "officer of another agency",
    "agency administrator",
    "MPP administrator",
    "operations viewer",
    "partner key in scope",
    "partner key out of scope",
)
# Calls that would end the callers' own sessions or accounts: answered by their own tests.
NOT_CALLED = {
    "POST /api/v1/auth/logout",
    "POST /api/v1/auth/password",
    "PATCH /api/v1/auth/staff/{staff_id}",
    "GET /api/v1/ops/live",  # a server-sent event stream: it never ends
}
ABSENT = "matrix-none"  # an id nothing has
REFUSED = {401, 403, 404}


@pytest.fixture(scope="module")
def world(platform: Platform) -> dict[str, Any]:
    """Citizen A's journey and every kind of caller's headers."""
    citizen_a = register_citizen(platform, "Citra Amalia")
    citizen_b = register_citizen(platform, "Basri Baso")
    submitted = apply(platform, citizen_a)
    assert submitted.status_code == 201, submitted.text
    application = submitted.json()
    document_id = next(iter(application["documents"].values()))[0]
    admin = sign_in(platform, "admin", DEVELOPMENT_SECRET)
    keys = {}
    for name, scopes in (("in", ["applications:read", "catalog:read"]), ("out", ["catalog:read"])):
        created = httpx.post(
            f"{platform.gateway}/api/v1/auth/partner-keys",
            json={"name": f"Mitra {name}", "scopes": scopes},
            headers=admin,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        keys[name] = {"X-API-Key": created.json()["key"]}
    headers = {
        "anonymous": {},
        "citizen A": citizen_a["headers"],
        "citizen B": citizen_b["headers"],
        "officer of the handling agency": staff_member(platform, "officer", "DISDUKCAPIL"),
        "officer of another agency": staff_member(platform, "officer", "SAMSAT"),
        "agency administrator": staff_member(platform, "agency_admin", "DISDUKCAPIL"),
        "MPP administrator": admin,
        "operations viewer": staff_member(platform, "ops_viewer"),
        "partner key in scope": keys["in"],
        "partner key out of scope": keys["out"],
    }
    parameters = {
        "application_id": application["id"],
        "tracking_number": application["tracking_number"],
        "document_id": document_id,
        "citizen_id": citizen_a["id"],
        "id_or_slug": SERVICE,
        "code": "DISDUKCAPIL",
        "event_type": "applications.application.submitted.v1",
        "channel": "sms",
        "language": "id",
    }
    return {"headers": headers, "parameters": parameters}


def _operations(platform: Platform) -> list[str]:
    document = httpx.get(f"{platform.gateway}/api/v1/openapi.json", timeout=30).json()
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    )


def _url(platform: Platform, path: str, parameters: dict[str, str], method: str) -> str:
    def fill(match: re.Match[str]) -> str:
        # A change is aimed at nothing: the door's answer without the change.
        return parameters.get(match[1], ABSENT) if method == "GET" else ABSENT

    return platform.gateway + re.sub(r"\{(\w+)\}", fill, path)


def _observe(platform: Platform, world: dict[str, Any]) -> dict[str, dict[str, int]]:
    observed: dict[str, dict[str, int]] = {}
    with httpx.Client(timeout=30) as client:
        for operation in _operations(platform):
            if operation in NOT_CALLED:
                continue
            method, path = operation.split(" ", 1)
            url = _url(platform, path, world["parameters"], method)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            observed[operation] = {
                caller: client.request(
                    method, url, json=body, headers=world["headers"][caller]
                ).status_code
                for caller in CALLERS
            }
    return observed


@pytest.fixture(scope="module")
def matrix(platform: Platform, world: dict[str, Any]) -> dict[str, dict[str, int]]:
    observed = _observe(platform, world)
    if os.environ.get("MPP_AUTHZ_WRITE"):
        SNAPSHOT.write_text(json.dumps(observed, indent=1, sort_keys=True) + "\n")
    admitted = sum(s not in REFUSED for answers in observed.values() for s in answers.values())
    cells = sum(len(answers) for answers in observed.values())
    print(
        f"authorisation: {len(observed)} operations x {len(CALLERS)} callers, {cells} calls, "
        f"{admitted} admitted, {cells - admitted} refused"
    )
    return observed


def test_every_operation_has_a_reviewed_row_and_none_changed(
    matrix: dict[str, dict[str, int]],
) -> None:
    expected = json.loads(SNAPSHOT.read_text())
    assert sorted(matrix) == sorted(expected), "routes added or gone: review and write the matrix"
    changed = {
        f"{operation} as {caller}: {expected[operation][caller]} -> {status}"
        for operation, answers in matrix.items()
        for caller, status in answers.items()
        if _kind(status) != _kind(expected[operation][caller])
    }
    assert not changed, "\n".join(sorted(changed))


def _kind(status: int) -> str:
    """What a status says about the door: refused (and how), or let through."""
    return str(status) if status in REFUSED else "admitted"


# Reads of citizen A's own things: nobody but A, the handling agency's staff and the mall's
# administration and operations (and, for applications, a partner in scope) gets them.
A_READS = {
    "GET /api/v1/applications/{application_id}": {
        "citizen A",
        "officer of the handling agency",
        "agency administrator",
        "MPP administrator",
        "operations viewer",
        "partner key in scope",
    },
    "GET /api/v1/documents/{document_id}": {
        "citizen A",
        "officer of the handling agency",
        "agency administrator",
        "MPP administrator",
    },
    "GET /api/v1/documents/{document_id}/content": {
        "citizen A",
        "officer of the handling agency",
        "agency administrator",
        "MPP administrator",
    },
    "GET /api/v1/auth/citizens/{citizen_id}": {
        "officer of the handling agency",
        "agency administrator",
        "MPP administrator",
    },
}


@pytest.mark.parametrize("operation", sorted(A_READS))
def test_citizen_a_s_things_are_read_by_whom_they_should_be_and_no_one_else(
    matrix: dict[str, dict[str, int]], operation: str
) -> None:
    admitted = {caller for caller, status in matrix[operation].items() if status not in REFUSED}
    assert admitted <= A_READS[operation], f"read by {sorted(admitted - A_READS[operation])}"
    assert "citizen A" in admitted or "citizen A" not in A_READS[operation]


# What an anonymous caller may reach: the catalog, sign-in steps, public tracking and
# verification, the satisfaction index, and the keys and document anyone may fetch.
PUBLIC = re.compile(
    r"^(GET /api/v1/catalog/(categories|agencies|services|popular)"
    r"|GET /api/v1/\.well-known/jwks\.json"
    r"|POST /api/v1/auth/(register|otp|verify-phone|token|password/reset)"
    r"|GET /api/v1/track/"
    r"|(GET|POST) /api/v1/verify/"
    r"|GET /api/v1/surveys/(elements|ikm)"
    r"|GET /api/v1/bookings/slots"
    r"|GET /api/v1/notifications/push/key"
    r"|POST /api/v1/notifications/receipts/)"
)


def test_an_anonymous_caller_reaches_only_what_is_public(
    matrix: dict[str, dict[str, int]],
) -> None:
    reached = {
        operation
        for operation, answers in matrix.items()
        if answers["anonymous"] not in REFUSED and not PUBLIC.match(operation)
    }
    assert not reached


def test_an_operations_viewer_changes_nothing(matrix: dict[str, dict[str, int]]) -> None:
    changed = {
        operation
        for operation, answers in matrix.items()
        if not operation.startswith("GET ")
        and not PUBLIC.match(operation)
        and operation != "PATCH /api/v1/auth/me"  # their own profile
        and answers["operations viewer"] not in REFUSED
    }
    assert not changed


def test_partners_keys_reach_only_their_scopes(matrix: dict[str, dict[str, int]]) -> None:
    scoped = re.compile(r"^GET /api/v1/(applications|track|catalog)")
    for caller, allowed in (
        ("partner key in scope", scoped),
        ("partner key out of scope", re.compile(r"^GET /api/v1/catalog")),
    ):
        reached = {
            operation
            for operation, answers in matrix.items()
            if answers[caller] not in REFUSED
            and not PUBLIC.match(operation)
            and not allowed.match(operation)
        }
        assert not reached, caller
