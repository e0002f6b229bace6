"""Readiness checks of the real parts: used by the local runtime, the services and the tests."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

PROBE_TOPIC = "__adrelay_probe"


async def kafka_round_trip(bootstrap: str, deadline_s: float = 60.0) -> str:
    """Wait until metadata answers, then produce and consume one record; return the cluster id."""
    deadline = time.monotonic() + deadline_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return await asyncio.wait_for(
                _round_trip(bootstrap), timeout=max(5.0, deadline - time.monotonic())
            )
        except Exception as exc:  # not ready yet; try again until the deadline
            last_error = exc
            await asyncio.sleep(0.5)
    raise TimeoutError(f"Kafka at {bootstrap} not ready after {deadline_s:.0f}s: {last_error!r}")


async def _round_trip(bootstrap: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        if not cluster.get("brokers"):
            raise RuntimeError("metadata lists no broker")
        try:
            await admin.create_topics([NewTopic(PROBE_TOPIC, 1, 1)])
        except TopicAlreadyExistsError:
            pass
        cluster_id = str(cluster.get("cluster_id"))
    finally:
        await admin.close()
    token = uuid.uuid4().hex.encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        meta = await producer.send_and_wait(PROBE_TOPIC, token)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(PROBE_TOPIC, meta.partition)
        consumer.assign([tp])
        consumer.seek(tp, meta.offset)
        record = await asyncio.wait_for(consumer.getone(), timeout=10)
        if record.value != token:
            raise RuntimeError("probe round trip returned another record")
    finally:
        await consumer.stop()
    return cluster_id


async def ensure_database(url: str) -> None:
    """Create the database named in `url` if it does not exist (connects to `postgres`)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = await asyncpg.connect(admin_url, timeout=5)
            break
        except (OSError, asyncpg.exceptions.CannotConnectNowError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
