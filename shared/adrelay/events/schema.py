"""The published event contract: JSON Schema and an AsyncAPI 3 document, generated from the models.

`adrelay contract write` regenerates `contract/`; a test fails when the checked-in copy differs from
what the models generate, so the contract cannot drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import create_model
from pydantic.json_schema import models_json_schema

from adrelay import topics
from adrelay.events.envelope import Envelope
from adrelay.events.payloads import PAYLOAD_TYPES, Payload

CONTRACT_DIR = Path(__file__).resolve().parents[3] / "contract"
JSON_SCHEMA_FILE = "events.schema.json"
ASYNCAPI_FILE = "asyncapi.yaml"
CONTRACT_VERSION = "1.0.0"


def _type_name(payload_cls: type[Payload]) -> str:
    return str(payload_cls.model_fields["type"].default)


def _event_model(payload_cls: type[Payload]) -> type[Envelope]:
    """The envelope narrowed to one payload type (one message in AsyncAPI terms)."""
    name = _type_name(payload_cls)
    model: type[Envelope] = create_model(
        f"{name}Event",
        __base__=Envelope,
        __doc__=f"Envelope carrying a {name} payload. {(payload_cls.__doc__ or '').strip()}",
        type=(Literal[name], name),  # type: ignore[arg-type]
        payload=(payload_cls, ...),
    )
    return model


def json_schema() -> dict[str, Any]:
    """One JSON Schema: the envelope (a discriminated union over payload types) and every definition."""
    schema = Envelope.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://adrelay.dev/contract/events.schema.json"
    schema["x-compatibility"] = (
        "Within a major schema_version changes are additive (new optional fields only). Consumers ignore "
        "unknown fields, accept every minor version of a known major, skip unknown event types, and "
        "dead-letter only an unknown major version."
    )
    schema["x-schema-versions"] = {_type_name(p): p.SCHEMA_VERSION for p in PAYLOAD_TYPES}
    return schema


def asyncapi() -> dict[str, Any]:
    models = [_event_model(p) for p in PAYLOAD_TYPES]
    _, defs = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas = defs.get("$defs", {})
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for payload_cls, model in zip(PAYLOAD_TYPES, models, strict=True):
        name = _type_name(payload_cls)
        spec = payload_cls.TOPIC
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (payload_cls.__doc__ or name).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "event_id": {"type": "string", "format": "uuid"},
                    "event_type": {"type": "string", "const": name},
                    "schema_version": {"type": "string", "const": payload_cls.SCHEMA_VERSION},
                },
            },
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": "campaign id"}}},
        }
        channel = channels.setdefault(
            spec.key,
            {
                "address": spec.base_name,
                "description": spec.description,
                "messages": {},
                "bindings": {
                    "kafka": {
                        "topic": spec.base_name,
                        "partitions": spec.partitions,
                        "topicConfiguration": {
                            "cleanup.policy": [spec.cleanup_policy],
                            "retention.ms": spec.retention_ms,
                        },
                    }
                },
            },
        )
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for spec in topics.CATALOGUE:
        if spec.key not in channels:
            continue
        refs = [{"$ref": f"#/channels/{spec.key}/messages/{m}"} for m in channels[spec.key]["messages"]]
        for producer in spec.producers:
            operations[f"{producer}.send.{spec.key}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{spec.key}"},
                "messages": refs,
            }
        for consumer in spec.consumers:
            operations[f"{consumer}.receive.{spec.key}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{spec.key}"},
                "messages": refs,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "adrelay events",
            "version": CONTRACT_VERSION,
            "description": "Events and commands of adrelay's publishing flow. Every topic is keyed by "
            "campaign id. " + json_schema()["x-compatibility"],
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> dict[str, str]:
    """File name → exact text, as checked in."""
    return {
        JSON_SCHEMA_FILE: json.dumps(json_schema(), indent=2, sort_keys=True) + "\n",
        ASYNCAPI_FILE: yaml.safe_dump(asyncapi(), sort_keys=True, allow_unicode=True, width=100),
    }


def write(directory: Path = CONTRACT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def stale(directory: Path = CONTRACT_DIR) -> list[str]:
    """Names of checked-in contract files that differ from what the models generate."""
    out = []
    for name, text in render().items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            out.append(name)
    return out
