"""Payload contracts of every event type, one module per producing service.

Within a major version only optional fields are added; a breaking change is a new `.v2` type
published beside `.v1`. Consumers ignore fields they do not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

# event type -> (topic, payload model); filled by `contract` in the producers' modules.
REGISTRY: dict[str, tuple[str, type[BaseModel]]] = {}
# payload model -> event type: a model is the contract of one type, so producers and consumers
# name the model and never spell the type.
TYPES: dict[type[BaseModel], str] = {}


class Contract(BaseModel):
    """Base of every payload: consumers ignore unknown fields, producers send only known ones."""

    model_config = ConfigDict(extra="ignore", frozen=True)


Model = TypeVar("Model", bound=type[BaseModel])


def contract(event_type: str, *, topic: str) -> Callable[[Model], Model]:
    """Register a payload model under its event type (used as a class decorator)."""

    def register(model: Model) -> Model:
        if event_type in REGISTRY:
            raise ValueError(f"event type {event_type} registered twice")
        if model in TYPES:
            raise ValueError(f"{model.__name__} is already the contract of {TYPES[model]}")
        REGISTRY[event_type] = (topic, model)
        TYPES[model] = event_type
        return model

    return register


def type_of(model: type[BaseModel]) -> str:
    """The event type whose contract `model` is (not a subclass's nor a base's)."""
    try:
        return TYPES[model]
    except KeyError:
        raise LookupError(f"{model.__name__} is not an event contract") from None


def topic_of(model: type[BaseModel]) -> str:
    """The topic events of the contract `model` are published on."""
    return REGISTRY[type_of(model)][0]


def load_all() -> dict[str, tuple[str, type[BaseModel]]]:
    """Import every producer's module so the registry is complete."""
    from mpp_shared.contracts import (  # noqa: F401
        applications,
        catalog,
        documents,
        identity,
        notifications,
        reads,
    )

    return REGISTRY
