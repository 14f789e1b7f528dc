"""Every contract is produced somewhere (as GOV.UK Notify checks every queue is consumed).

Read from the source, without running it: a contract counts as produced when its class reaches
the payload of `new_event` in the services', the gateway's or the shared package's own code
(tests do not count), directly or through the helpers that pass a payload on to it.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

from mpp_shared.contracts import load_all
from mpp_shared.contracts.reads import READ_CONTRACTS

ROOT = Path(__file__).resolve().parents[3]
# Produced without their class named at a call: `ReadAudit` publishes the READ_CONTRACTS entry of
# the service it is installed in (applications and documents install it in their app.py).
PRODUCED_ELSEWHERE = {model.__name__ for model in READ_CONTRACTS.values()}


def _sources() -> Iterator[Path]:
    packages = [ROOT / "shared" / "mpp_shared", ROOT / "gateway" / "gateway"]
    packages += [p / p.name for p in (ROOT / "services").iterdir() if (p / p.name).is_dir()]
    for package in packages:
        yield from package.rglob("*.py")


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _names(node: ast.AST | None) -> set[str]:
    """Every name and attribute an expression mentions."""
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    arguments = function.args
    found = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    return found[1:] if found and found[0].arg in ("self", "cls") else found


def _scopes() -> Iterator[tuple[str, list[ast.arg], dict[str, list[ast.expr]], list[ast.Call]]]:
    """Each function: its name, parameters, what its names are assigned, and its calls."""
    for path in _sources():
        for function in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            assigned: dict[str, list[ast.expr]] = {}
            calls = []
            for node in ast.walk(function):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, []).append(node.value)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    assigned.setdefault(node.target.id, []).append(node.value or node.annotation)
                elif isinstance(node, ast.Call):
                    calls.append(node)
            yield function.name, _parameters(function), assigned, calls


@functools.cache
def produced_names() -> frozenset[str]:
    """Names that reach a payload of `new_event`: following each payload back through local
    assignments and, where it is a parameter, to the arguments callers pass for it."""
    scopes = list(_scopes())
    # (function, parameter position, parameter name) whose argument becomes a payload.
    sinks = {("new_event", 0, "data")}
    seen: set[tuple[str, int, str]] = set()
    produced: set[str] = set()
    while sinks - seen:
        sink = (sinks - seen).pop()
        seen.add(sink)
        name, position, keyword = sink
        for function, parameters, assigned, calls in scopes:
            for call in calls:
                if _called(call) != name:
                    continue
                given = [k.value for k in call.keywords if k.arg == keyword]
                given += call.args[position : position + 1]
                pending = [n for argument in given for n in _names(argument)]
                followed: set[str] = set()
                while pending:
                    mentioned = pending.pop()
                    if mentioned in followed:
                        continue
                    followed.add(mentioned)
                    produced.add(mentioned)
                    for value in assigned.get(mentioned, []):
                        pending += _names(value)
                    for number, parameter in enumerate(parameters):
                        if parameter.arg == mentioned:
                            produced |= _names(parameter.annotation)
                            sinks.add((function, number, parameter.arg))
    return frozenset(produced)


def test_every_contract_is_produced_by_the_code_of_some_service() -> None:
    contracts = {
        model.__name__
        for _, model in load_all().values()
        if model.__module__.startswith("mpp_shared.contracts.")  # not a test's own probe
    }
    assert contracts - produced_names() - PRODUCED_ELSEWHERE == set()


def test_the_scan_finds_payloads_passed_through_helpers_and_variables() -> None:
    produced = produced_names()
    assert {
        "ApplicationSubmitted",  # event_of(ApplicationSubmitted(...))
        "ComplaintForwarded",  # transition(contract=ComplaintForwarded) -> event_of(contract(...))
        "ServiceWithdrawn",  # payload = ServiceWithdrawn(...); new_event(payload, ...)
        "OtpRequested",  # OtpSender.send(otp: OtpRequested)
        "RevisionRequested",  # chosen from a table of lambdas by the state entered
    } <= produced
