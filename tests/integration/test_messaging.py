"""The messaging foundation on the real broker and database, through the running services.

Invariant 2 (each event applied once per consumer; every emitted event is emitted) and invariant 7
(a malformed message never stops a consumer; it lands in the DLQ with its reason).
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import orjson

from adrelay import topics
from adrelay.events import Envelope, MetricTotals, PerformanceSynced, encode
from adrelay.model import Platform
from tests.conftest import RuntimeEnv
from tests.support.kafka import envelopes, produce, produce_envelope, read_topic
from tests.support.processes import ServiceProcess
from tests.support.samples import publish_command


async def _received(env: RuntimeEnv, campaign_id: str, timeout: float = 30.0) -> list[Envelope]:
    """The orchestrator's first reaction to a command: the publish is recorded as received."""

    def received(records: list) -> list[Envelope]:
        return [
            e
            for e in envelopes(records, "PublishStatusChanged", campaign_id)
            if e.payload.status == "received"
        ]

    records = await read_topic(
        env.bootstrap, topics.STATUS.name, until=lambda rs: bool(received(rs)), timeout=timeout
    )
    return received(records)


async def test_envelope_round_trip_through_a_real_topic(runtime_env: RuntimeEnv) -> None:
    sent = Envelope.new(
        PerformanceSynced(
            platform=Platform.META,
            currency="USD",
            time_zone="UTC",
            date_from="2030-01-01",
            date_to="2030-01-01",
            totals=MetricTotals(impressions=7, spend_micros=1_250_000),
            rows=1,
        ),
        campaign_id="cmp-roundtrip",
        publish_id="pub-roundtrip",
    )
    await produce_envelope(runtime_env.bootstrap, sent)
    records = await read_topic(
        runtime_env.bootstrap,
        topics.PERFORMANCE.name,
        until=lambda rs: any(r.key == b"cmp-roundtrip" for r in rs),
    )
    record = next(r for r in records if r.key == b"cmp-roundtrip")
    assert record.envelope() == sent
    assert record.headers["event_type"] == b"PerformanceSynced"
    assert record.headers["event_id"] == str(sent.event_id).encode()


async def test_invariant_7_malformed_message_goes_to_the_dlq_and_the_next_is_processed(
    runtime_env: RuntimeEnv, services: dict[str, ServiceProcess]
) -> None:
    await produce(runtime_env.bootstrap, topics.COMMANDS.name, b"\xffnot an envelope", key=b"cmp-garbage")
    good = publish_command()
    await produce_envelope(runtime_env.bootstrap, good)

    dead = await read_topic(
        runtime_env.bootstrap,
        topics.COMMANDS.dlq_name,
        until=lambda rs: any(r.key == b"cmp-garbage" for r in rs),
    )
    letter = next(r for r in dead if r.key == b"cmp-garbage")
    assert letter.value == b"\xffnot an envelope"
    assert b"not JSON" in letter.headers["dlq.reason"]
    assert letter.headers["dlq.source_topic"] == topics.COMMANDS.name.encode()
    assert letter.headers["dlq.consumer"] == b"orchestrator"
    assert await _received(runtime_env, good.campaign_id), (
        "the good command after the bad one was not processed"
    )
    assert services["orchestrator"].alive()


async def test_invariant_2_an_event_delivered_twice_is_applied_once(
    runtime_env: RuntimeEnv, services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    orchestrator = services["orchestrator"]
    before = orchestrator.metric(
        "adrelay_events_skipped_total", reason="duplicate", topic=topics.COMMANDS.name
    )
    command = publish_command()
    await produce_envelope(runtime_env.bootstrap, command)
    await produce_envelope(runtime_env.bootstrap, command)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        skipped = orchestrator.metric(
            "adrelay_events_skipped_total", reason="duplicate", topic=topics.COMMANDS.name
        )
        if skipped >= before + 1:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the second delivery was never recognised as a duplicate")
    rows = await db.fetchval(
        "select count(*) from processed_events where consumer = 'orchestrator' and event_id = $1",
        command.event_id,
    )
    assert rows == 1
    received = await _received(runtime_env, command.campaign_id)
    assert len(received) == 1


async def test_a_newer_minor_version_with_an_unknown_field_is_accepted_end_to_end(
    runtime_env: RuntimeEnv, services: dict[str, ServiceProcess]
) -> None:
    command = publish_command()
    data = orjson.loads(encode(command))
    data["schema_version"] = "1.4"
    data["payload"]["future_optional_field"] = "hello"
    await produce(runtime_env.bootstrap, topics.COMMANDS.name, orjson.dumps(data), key=command.key)
    assert await _received(runtime_env, command.campaign_id)


async def test_an_unknown_major_version_is_dead_lettered(
    runtime_env: RuntimeEnv, services: dict[str, ServiceProcess]
) -> None:
    command = publish_command()
    data = orjson.loads(encode(command))
    data["schema_version"] = "2.0"
    await produce(runtime_env.bootstrap, topics.COMMANDS.name, orjson.dumps(data), key=command.key)
    dead = await read_topic(
        runtime_env.bootstrap,
        topics.COMMANDS.dlq_name,
        until=lambda rs: any(r.key == command.key for r in rs),
    )
    letter = next(r for r in dead if r.key == command.key)
    assert b"major 2" in letter.headers["dlq.reason"]
    assert letter.headers["dlq.kind"] == b"UnsupportedSchemaVersion"
