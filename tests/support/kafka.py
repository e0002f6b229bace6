"""Test helpers for the real broker: produce raw records, read a topic until a condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from adrelay.events import Envelope, decode, encode


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    def envelope(self) -> Envelope:
        return decode(self.value)


async def produce(
    bootstrap: str,
    topic: str,
    value: bytes | None,
    key: bytes | None = b"test",
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def produce_envelope(bootstrap: str, envelope: Envelope) -> None:
    await produce(bootstrap, envelope.topic, encode(envelope), envelope.key, envelope.headers())


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Record]], bool],
    timeout: float = 30.0,
    from_beginning: bool = True,
) -> list[Record]:
    """Every record of `topic` from the start, read until `until(records)` holds or the timeout ends."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Record] = []
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + 10
        while not partitions and time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            await asyncio.sleep(0.1)
        assert partitions, f"topic {topic} does not exist"
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until(records):
                return records
            batch = await consumer.getmany(timeout_ms=200)
            for tp, messages in batch.items():
                for m in messages:
                    records.append(
                        Record(tp.topic, tp.partition, m.offset, m.key, m.value, dict(m.headers or []))
                    )
        return records
    finally:
        await consumer.stop()


def envelopes(
    records: list[Record], event_type: str | None = None, campaign_id: str | None = None
) -> list[Envelope]:
    out = []
    for record in records:
        try:
            env = record.envelope()
        except Exception:
            continue
        if event_type and env.type != event_type:
            continue
        if campaign_id and env.campaign_id != campaign_id:
            continue
        out.append(env)
    return out
