"""The one Kafka producer a service process uses for its outbox relay and its dead letters.

Idempotent (`enable_idempotence=True`, `acks="all"`): a retried send never duplicates a record on
the broker, and records of one partition keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata


class KafkaProducer:
    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    client_id=self.client_id,
                    enable_idempotence=True,
                    acks="all",
                    linger_ms=2,
                    request_timeout_ms=15000,
                )
                try:
                    await producer.start()
                except Exception:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self._producer = producer
        return self._producer

    async def send_batch(
        self, records: Sequence[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> list[RecordMetadata]:
        """Send (topic, key, value, headers) records in order; return when every one is acknowledged."""
        producer = await self._get()
        try:
            futures = [
                await producer.send(topic, value=value, key=key, headers=headers)
                for topic, key, value, headers in records
            ]
            return list(await asyncio.gather(*futures))
        except Exception:
            await self.reset()
            raise

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        await self.send_batch([(topic, key, value, headers)])

    async def reachable(self, timeout: float = 2.0) -> bool:
        try:
            producer = await asyncio.wait_for(self._get(), timeout=timeout)
            await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=timeout)
            return True
        except Exception:
            return False

    async def reset(self) -> None:
        """Drop a producer that failed; the next send makes a fresh one."""
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=5)

    async def close(self) -> None:
        await self.reset()
