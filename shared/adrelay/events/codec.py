"""Encoding and decoding envelopes, with the compatibility rule.

The rule (a rolling deploy never sends new events to the dead-letter topic):
1. Within a major schema version changes are additive. A consumer ignores fields it does not know
   and accepts every minor version of a major it knows, newer ones included.
2. Only an unknown *major* version is dead-lettered (`UnsupportedSchemaVersion`).
3. An event type a consumer does not know is not for it: it is skipped, not dead-lettered
   (`UnknownEventType`), so adding a new event type to a topic is safe.
4. Bytes that are not an envelope, or a known type whose payload is invalid, are dead-lettered
   with the reason (`MalformedEvent`).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from adrelay.events.envelope import PAYLOADS_BY_TYPE, Envelope

MAX_REASON_CHARS = 2000


class DecodeError(Exception):
    """A message could not be turned into an Envelope."""

    permanent = True


class MalformedEvent(DecodeError):
    """Not an envelope, or an invalid payload: dead-letter it."""


class UnsupportedSchemaVersion(DecodeError):
    """A major schema version this consumer does not know: dead-letter it."""


class UnknownEventType(DecodeError):
    """A type this consumer does not know: not for it; skip."""

    permanent = False


def encode(envelope: Envelope) -> bytes:
    return orjson.dumps(envelope.model_dump(mode="json"))


def decode(raw: bytes | None) -> Envelope:
    if raw is None:
        raise MalformedEvent("empty message (tombstone)")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedEvent(f"an envelope must be a JSON object, got {type(data).__name__}")
    event_type = data.get("type")
    if not isinstance(event_type, str):
        raise MalformedEvent("missing envelope field 'type'")
    payload_cls = PAYLOADS_BY_TYPE.get(event_type)
    if payload_cls is None:
        raise UnknownEventType(f"unknown event type {event_type!r}")
    version = data.get("schema_version")
    if not isinstance(version, str) or not _is_version(version):
        raise MalformedEvent(f"missing or malformed schema_version: {version!r}")
    known_major = payload_cls.SCHEMA_VERSION.split(".")[0]
    if version.split(".")[0] != known_major:
        raise UnsupportedSchemaVersion(
            f"{event_type} schema version {version} has major {version.split('.')[0]}; "
            f"this consumer knows major {known_major}"
        )
    try:
        return Envelope.model_validate(data)
    except ValidationError as exc:
        raise MalformedEvent(_describe(exc)) from None


def _is_version(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _describe(exc: ValidationError) -> str:
    parts: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(p) for p in error["loc"])
        parts.append(f"{location}: {error['msg']}")
    text = "invalid event: " + "; ".join(parts)
    return text[:MAX_REASON_CHARS]


def peek_ids(raw: bytes | None) -> dict[str, Any]:
    """Best-effort ids from a message that may not decode (for logs and dead letters)."""
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        k: data.get(k)
        for k in ("event_id", "type", "campaign_id", "publish_id")
        if isinstance(data.get(k), str)
    }
