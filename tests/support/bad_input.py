"""Helpers for the bad-input tests (issue 7): bad records on the real topics, their dead letters, and
services of their own for the cases that may stop a consumer for good.

Every bad record carries a `bad_input.case` header. The dead-letter writer keeps a record's own
headers, so a dead letter is found by that header and checked for the reason the consumer gave.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from adrelay import topics
from adrelay.events import Envelope, encode
from adrelay.topics import TopicSpec
from tests.support.kafka import Record, read_topic
from tests.support.processes import ServiceProcess, free_port

CASE_HEADER = "bad_input.case"


def raw(envelope: Envelope) -> dict[str, Any]:
    """An envelope as the JSON object that travels, to be broken on purpose."""
    data: dict[str, Any] = orjson.loads(encode(envelope))
    return data


class Sender:
    """One producer for many records (a producer per record costs a connection each)."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")

    async def __aenter__(self) -> Sender:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def send(
        self, topic: str, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        await self.producer.send_and_wait(topic, value=value, key=key, headers=headers or [])

    async def case(self, topic: str, key: bytes, case: str, value: bytes | None) -> None:
        """One bad record, named by its `bad_input.case` header."""
        await self.send(topic, key, value, [(CASE_HEADER, case.encode())])

    async def envelope(self, envelope: Envelope) -> None:
        await self.send(envelope.topic, envelope.key, encode(envelope), envelope.headers())


def case_of(record: Record) -> str | None:
    value = record.headers.get(CASE_HEADER)
    return value.decode() if value is not None else None


async def dead_letters(
    bootstrap: str,
    dlq_topic: str,
    wanted: dict[str, set[str]],
    timeout: float = 20.0,
) -> dict[tuple[str, str], Record]:
    """The dead letters of `dlq_topic`, by (case, consumer), read until every case in `wanted` (case →
    the consumers that should dead-letter it) is there or the timeout ends."""

    def index(records: list[Record]) -> dict[tuple[str, str], Record]:
        out: dict[tuple[str, str], Record] = {}
        for record in records:
            case = case_of(record)
            consumer = record.headers.get("dlq.consumer")
            if case is not None and consumer is not None:
                out[(case, consumer.decode())] = record
        return out

    def complete(records: list[Record]) -> bool:
        found = index(records)
        return all((case, c) in found for case, consumers in wanted.items() for c in consumers)

    return index(await read_topic(bootstrap, dlq_topic, until=complete, timeout=timeout))


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        deadline = time.monotonic() + 10
        while not partitions and time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
            await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        offsets = await consumer.end_offsets(tps)
        return {tp.partition: offset for tp, offset in offsets.items()}
    finally:
        await consumer.stop()


async def wait_for(check: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll the async `check` until it returns something truthy; return the last value at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(interval)


# ---- services of their own -------------------------------------------------------------------------
@dataclass
class Isolated:
    """Services on a database and a topic prefix of their own: a consumer (or a relay) these tests
    may stop for good cannot hold up the session's shared services."""

    prefix: str
    database_url: str
    procs: dict[str, ServiceProcess]

    def topic(self, spec: TopicSpec) -> str:
        return self.prefix + spec.base_name

    def dlq(self, spec: TopicSpec) -> str:
        return self.prefix + topics.dlq_of(spec.base_name)


async def _admin_execute(database_url: str, sql: str) -> None:
    parts = urlsplit(database_url)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=5)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


def _declarations(prefix: str) -> list[topics.TopicDeclaration]:
    saved = os.environ.get("ADRELAY_TOPIC_PREFIX")
    os.environ["ADRELAY_TOPIC_PREFIX"] = prefix  # the catalogue applies the prefix when asked
    try:
        return topics.declarations()
    finally:
        if saved is None:
            del os.environ["ADRELAY_TOPIC_PREFIX"]
        else:
            os.environ["ADRELAY_TOPIC_PREFIX"] = saved


@asynccontextmanager
async def isolated_services(env: dict[str, str], names: tuple[str, ...]) -> AsyncIterator[Isolated]:
    """`names` started as processes on a fresh database (migrated) and fresh topics; both dropped after."""
    from adrelay.storage.migrate import upgrade

    tag = uuid.uuid4().hex[:6]
    parts = urlsplit(env["DATABASE_URL"])
    database = parts.path.rstrip("/").lstrip("/") + f"_iso{tag}"
    database_url = urlunsplit(parts._replace(path=f"/{database}"))
    prefix = f"{env['ADRELAY_TOPIC_PREFIX']}iso{tag}."
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    await _admin_execute(database_url, f'create database "{database}"')
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    declared = _declarations(prefix)
    procs: dict[str, ServiceProcess] = {}
    try:
        await asyncio.to_thread(upgrade, database_url)
        await admin.start()
        await admin.create_topics(
            [NewTopic(d.name, d.partitions, 1, topic_configs=d.config) for d in declared]
        )
        service_env = {**env, "DATABASE_URL": database_url, "ADRELAY_TOPIC_PREFIX": prefix}
        log_dir = Path(env["ADRELAY_LOG_DIR"]) / f"iso{tag}"
        for name in names:
            procs[name] = ServiceProcess(name, free_port(), service_env, log_dir).start()
        for proc in procs.values():
            await asyncio.to_thread(proc.wait_ready, 90)
        yield Isolated(prefix, database_url, procs)
    finally:
        for proc in procs.values():  # throwaway processes, possibly stuck on purpose: no long grace period
            await asyncio.to_thread(proc.stop, 3.0)
        try:
            await admin.delete_topics([d.name for d in declared])
        except Exception as exc:  # leftover topics under a unique prefix are harmless
            print(f"could not delete topics under {prefix}: {exc!r}")
        await admin.close()
        await _admin_execute(database_url, f'drop database if exists "{database}" with (force)')
