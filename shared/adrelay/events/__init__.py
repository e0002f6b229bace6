"""The event catalogue and contract: envelope, payloads, codec, generated schemas."""

from adrelay.events.codec import (
    DecodeError,
    MalformedEvent,
    UnknownEventType,
    UnsupportedSchemaVersion,
    decode,
    encode,
)
from adrelay.events.envelope import PAYLOADS_BY_TYPE, Envelope, stable_event_id
from adrelay.events.payloads import *  # noqa: F403 - the catalogue is the public surface
from adrelay.events.payloads import PAYLOAD_TYPES

__all__ = [
    "PAYLOADS_BY_TYPE",
    "PAYLOAD_TYPES",
    "DecodeError",
    "Envelope",
    "MalformedEvent",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "decode",
    "encode",
    "stable_event_id",
]
