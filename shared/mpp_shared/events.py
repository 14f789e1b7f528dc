"""The one event envelope: CloudEvents 1.0 in structured JSON mode, through the CloudEvents SDK."""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel

from mpp_shared import contracts
from mpp_shared.ids import new_id

CONTENT_TYPE = JSONFormat.CONTENT_TYPE
TYPE_PATTERN = re.compile(r"^[a-z]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$")
_FORMAT = JSONFormat()

Payload = TypeVar("Payload", bound=BaseModel)


class InvalidEvent(ValueError):
    """A record that is not a CloudEvent this platform can read; retrying will not help."""


@dataclass(frozen=True)
class Event:
    """A fact one service recorded, as every consumer sees it."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: dict[str, Any] = field(default_factory=dict)
    dataschema: str | None = None

    def payload(self, model: builtins.type[Payload]) -> Payload:
        """The data parsed as its contract; unknown fields are ignored."""
        return model.model_validate(self.data)

    def to_cloudevent(self) -> CloudEvent:
        """The SDK's view of this event."""
        attributes: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time,
            "datacontenttype": "application/json",
        }
        if self.dataschema:
            attributes["dataschema"] = self.dataschema
        return CloudEvent(attributes, self.data)

    def to_json(self) -> bytes:
        """The structured-mode JSON body."""
        return _FORMAT.write(self.to_cloudevent())


def new_event(data: BaseModel, *, source: str, subject: str, type: str | None = None) -> Event:
    """Record a new fact: its id and time are set now, once, as the de-duplication key.

    The type is the one `data`'s contract model is registered under (`mpp_shared.contracts`);
    an explicit `type` is for payloads that are no contract (the event pipeline's own probes).
    """
    model = builtins.type(data)
    event_type = type or contracts.TYPES.get(model)
    if event_type is None:
        raise LookupError(f"{model.__name__} is not an event contract")
    contracted = model in contracts.TYPES or event_type in contracts.REGISTRY
    if contracted and contracts.TYPES.get(model) != event_type:
        raise ValueError(f"a {model.__name__} is not the payload of {event_type}")
    if not TYPE_PATTERN.match(event_type):
        raise ValueError(f"{event_type!r} is not <service>.<entity>.<past_verb>.v<major>")
    return Event(
        id=new_id(),
        type=event_type,
        source=source,
        subject=subject,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
        dataschema=f"/schemas/{event_type}.json",
    )


def from_cloudevent(event: Any) -> Event:
    """Our view of an SDK event; refuses events that lack what the platform relies on."""
    data = event.get_data()
    subject = event.get_subject()
    time = event.get_time()
    if not isinstance(data, dict) or not subject or time is None:
        raise InvalidEvent("a CloudEvent needs JSON object data, a subject and a time")
    return Event(
        id=event.get_id(),
        type=event.get_type(),
        source=event.get_source(),
        subject=subject,
        time=time,
        data=data,
        dataschema=event.get_dataschema(),
    )


def from_json(value: bytes | str) -> Event:
    """Parse a structured-mode JSON body."""
    try:
        return from_cloudevent(_FORMAT.read(None, value))
    except InvalidEvent:
        raise
    except (BaseCloudEventException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidEvent(f"not a CloudEvents 1.0 JSON event: {exc}") from exc


def to_kafka(event: Event) -> ce_kafka.KafkaMessage:
    """A Kafka record in structured mode, keyed by the subject so one entity stays in order."""
    return ce_kafka.to_structured_event(event.to_cloudevent(), _FORMAT, key_mapper=_subject_key)


def _subject_key(event: Any) -> str | None:
    subject: str | None = event.get_subject()
    return subject
