"""The event contract: envelope round trip, the compatibility rule, generated schemas not stale."""

from __future__ import annotations

import orjson
import pytest

from adrelay.events import (
    PAYLOADS_BY_TYPE,
    MalformedEvent,
    UnknownEventType,
    UnsupportedSchemaVersion,
    decode,
    encode,
    schema,
)
from adrelay.events.envelope import Envelope
from adrelay.topics import CATALOGUE
from tests.support.samples import publish_command


def test_envelope_round_trip_is_exact() -> None:
    envelope = publish_command()
    assert decode(encode(envelope)) == envelope


def test_every_event_in_the_catalogue_has_a_topic_from_the_topic_catalogue() -> None:
    expected = {
        "PublishCampaign",
        "CampaignPublishRequested",
        "PlatformPublishProgressed",
        "PlatformPublishSucceeded",
        "PlatformPublishFailed",
        "RollbackRequested",
        "PlatformRolledBack",
        "ActivateRequested",
        "PlatformActivated",
        "PublishStatusChanged",
        "ReauthRequired",
        "PerformanceSynced",
        "NotificationRequested",
    }
    assert expected <= set(PAYLOADS_BY_TYPE)
    for payload in PAYLOADS_BY_TYPE.values():
        assert payload.TOPIC in CATALOGUE


def _raw(envelope: Envelope) -> dict:
    return orjson.loads(encode(envelope))


def test_a_newer_minor_version_with_unknown_fields_is_accepted() -> None:
    data = _raw(publish_command())
    data["schema_version"] = "1.9"
    data["payload"]["a_field_from_the_future"] = {"x": 1}
    data["a_new_envelope_field"] = "ignored"
    decoded = decode(orjson.dumps(data))
    assert decoded.schema_version == "1.9"
    assert decoded.type == "PublishCampaign"


def test_an_unknown_major_version_is_refused() -> None:
    data = _raw(publish_command())
    data["schema_version"] = "2.0"
    with pytest.raises(UnsupportedSchemaVersion, match="major 2"):
        decode(orjson.dumps(data))


def test_an_unknown_event_type_is_skipped_not_dead_lettered() -> None:
    data = _raw(publish_command())
    data["type"] = "SomethingNew"
    with pytest.raises(UnknownEventType) as info:
        decode(orjson.dumps(data))
    assert info.value.permanent is False


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"schema_version": "1.0"}', "missing envelope field 'type'"),
        (None, "tombstone"),
    ],
)
def test_undecodable_bytes_are_malformed_with_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        decode(raw)


def test_missing_payload_fields_name_the_field() -> None:
    data = _raw(publish_command())
    del data["payload"]["campaign"]["ad_sets"]
    with pytest.raises(MalformedEvent, match=r"payload\.PublishCampaign\.campaign\.ad_sets: Field required"):
        decode(orjson.dumps(data))


def test_envelope_type_must_match_payload_type() -> None:
    data = _raw(publish_command())
    data["payload"]["type"] = "CampaignPublishRequested"
    with pytest.raises(MalformedEvent):
        decode(orjson.dumps(data))


def test_checked_in_json_schema_and_asyncapi_equal_what_the_models_generate() -> None:
    assert schema.stale() == [], "run `adrelay contract write` and commit contract/"


def test_asyncapi_names_every_topic_and_message() -> None:
    document = schema.asyncapi()
    assert document["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in document["channels"].values()}
    assert {t.base_name for t in CATALOGUE} <= addresses
    assert set(document["components"]["messages"]) == set(PAYLOADS_BY_TYPE)
