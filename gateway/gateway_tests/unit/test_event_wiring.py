"""The gateway reads every topic it consumes for something, and has no handler for another's."""

from __future__ import annotations

from gateway.app import CONSUMED, HANDLERS
from mpp_shared.contracts import topic_of


def test_every_handler_is_of_a_contract_on_a_topic_the_gateway_consumes() -> None:
    assert {topic_of(model) for model in HANDLERS} == set(CONSUMED)
