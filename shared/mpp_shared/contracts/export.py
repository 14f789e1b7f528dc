"""Write every event type's JSON Schema and an AsyncAPI 3.0 document for partners."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mpp_shared.contracts import load_all
from mpp_shared.events import CONTENT_TYPE


def json_schemas() -> dict[str, dict[str, Any]]:
    """Each event type's payload schema, keyed by type."""
    return {
        event_type: {"$id": f"/schemas/{event_type}.json", **model.model_json_schema()}
        for event_type, (_, model) in sorted(load_all().items())
    }


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document: one channel per topic, one message per event type."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages_by_topic: dict[str, dict[str, Any]] = {}
    for event_type, (topic, model) in sorted(load_all().items()):
        key = event_type.replace(".", "_")
        messages_by_topic.setdefault(topic, {})[key] = {
            "name": event_type,
            "title": event_type,
            "summary": (model.__doc__ or "").strip(),
            "contentType": CONTENT_TYPE,
            "payload": model.model_json_schema(),
        }
    for topic, messages in messages_by_topic.items():
        channel = topic.replace(".", "_")
        channels[channel] = {"address": topic, "messages": messages}
        operations[f"receive_{channel}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in messages],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "MPP Elektronik events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 (structured JSON) on Kafka, keyed by subject.",
        },
        "channels": channels,
        "operations": operations,
    }


def main() -> None:
    """`mpp-contracts DIR`: write schemas/<type>.json and asyncapi.json into DIR."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("directory", type=Path)
    out = parser.parse_args().directory
    (out / "schemas").mkdir(parents=True, exist_ok=True)
    for event_type, schema in json_schemas().items():
        (out / "schemas" / f"{event_type}.json").write_text(json.dumps(schema, indent=2) + "\n")
    (out / "asyncapi.json").write_text(json.dumps(asyncapi(), indent=2) + "\n")
    print(f"wrote {len(json_schemas())} schemas and asyncapi.json to {out}")


if __name__ == "__main__":
    main()
