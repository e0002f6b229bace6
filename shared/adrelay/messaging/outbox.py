"""The transactional outbox and its relay (invariant 2: every event a service decides to emit is
emitted, in per-campaign order).

`Outbox.add` writes the encoded envelope in the caller's transaction, next to the change that
caused it, so an event exists exactly when its cause committed. Same-campaign writers serialize on an
advisory lock until commit, so row ids of one campaign follow commit order.

`OutboxRelay` publishes unpublished rows in id order and then marks them. A crash between the send
and the mark republishes: duplicates on the wire are allowed (stable event ids; consumer inboxes
apply each once), losses and reorderings within a campaign are not. One relay owns a producer's rows
at a time (a session advisory lock on a dedicated connection; it is released when the owner dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib

import asyncpg
import orjson

from adrelay.events import Envelope, encode
from adrelay.messaging import crash
from adrelay.messaging.kafka import KafkaProducer
from adrelay.observability import metrics

log = logging.getLogger(__name__)
BATCH = 500
# Kafka's default largest record is 1 MiB (producer max.request.size, broker message.max.bytes);
# an event must fit with its key, headers and the record overhead.
MAX_EVENT_BYTES = 1_000_000


class EventTooLarge(ValueError):
    """An event that Kafka cannot carry: refused when it is emitted, never left to block the relay."""


def event_size(envelope: Envelope) -> int:
    return len(encode(envelope)) + len(envelope.key) + sum(len(k) + len(v) for k, v in envelope.headers())


def _channel(producer: str) -> str:
    return "adrelay_outbox_" + "".join(c if c.isalnum() else "_" for c in producer)


def _lock_key(producer: str) -> int:
    return 0x0A0B_0000_0000 + zlib.crc32(f"outbox-relay:{producer}".encode())


class Outbox:
    def __init__(self, producer: str) -> None:
        self.producer = producer

    async def add(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        """Record `envelope` for emission when the surrounding transaction commits."""
        value = encode(envelope)
        if len(value) + 4096 > MAX_EVENT_BYTES:
            raise EventTooLarge(
                f"{envelope.type} of {len(value)} bytes is over Kafka's {MAX_EVENT_BYTES}-byte limit"
            )
        # One round trip: the campaign's lock is taken before the row's id is drawn (the source row is
        # produced first), and listeners are woken only when a row was really added.
        await conn.execute(
            """
            with locked as (select pg_advisory_xact_lock($8)),
            added as (
                insert into outbox (producer, topic, message_key, event_id, event_type, value, headers)
                select $1, $2, $3, $4, $5, $6, $7::jsonb from locked
                on conflict (producer, event_id) do nothing
                returning 1
            )
            select pg_notify($9, '') from added
            """,
            self.producer,
            envelope.topic,
            envelope.key,
            envelope.event_id,
            envelope.type,
            value,
            orjson.dumps([[k, v.decode()] for k, v in envelope.headers()]).decode(),
            zlib.crc32(f"outbox:{envelope.campaign_id}".encode()),
            _channel(self.producer),
        )


class OutboxRelay:
    def __init__(
        self, dsn: str, producer: str, kafka: KafkaProducer, poll_interval_s: float = 1.0, batch: int = BATCH
    ) -> None:
        self.dsn = dsn
        self.batch = batch
        self.producer = producer
        self.kafka = kafka
        self.poll_interval_s = poll_interval_s
        self.owner = False
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Relay forever; survives database and broker outages."""
        backoff = 0.2
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                await self._acquire(conn)
                await conn.add_listener(_channel(self.producer), self._notified)
                backoff = 0.2
                while True:
                    relayed = await self.relay_once(conn)
                    if relayed < self.batch:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
                        self._wake.clear()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay interrupted: %r; retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self._set_owner(False)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)

    def _notified(self, *_args: object) -> None:
        self._wake.set()

    def _set_owner(self, owner: bool) -> None:
        self.owner = owner
        metrics.OUTBOX_RELAY_OWNER.labels(self.producer).set(1 if owner else 0)

    async def _acquire(self, conn: asyncpg.Connection) -> None:
        # Polling is right here: the lock is held by another process, which cannot signal us.
        while not await conn.fetchval("select pg_try_advisory_lock($1)", _lock_key(self.producer)):
            await asyncio.sleep(self.poll_interval_s)
        self._set_owner(True)
        log.info("outbox relay owner for %s", self.producer)

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            """
            select id, topic, message_key, value, headers from outbox
            where producer = $1 and published_at is null and failed_reason is null
            order by id limit $2
            """,
            self.producer,
            self.batch,
        )
        metrics.OUTBOX_PENDING.labels(self.producer).set(len(rows))
        if not rows:
            return 0
        oversized = [
            r
            for r in rows
            if len(r["value"]) + len(r["message_key"]) + len(r["headers"]) + 4096 > MAX_EVENT_BYTES
        ]
        if oversized:
            # Rows written before the size check existed, or by another writer: set aside, never block.
            await conn.execute(
                "update outbox set failed_reason = $2 where id = any($1::bigint[])",
                [r["id"] for r in oversized],
                f"larger than Kafka's {MAX_EVENT_BYTES}-byte record limit",
            )
            metrics.OUTBOX_FAILED.labels(self.producer).inc(len(oversized))
            log.error("outbox rows %s are too large for Kafka; set aside", [r["id"] for r in oversized])
            rows = [r for r in rows if r not in oversized]
            if not rows:
                return len(oversized)
        records = [
            (
                r["topic"],
                bytes(r["message_key"]),
                bytes(r["value"]),
                [(k, v.encode()) for k, v in orjson.loads(r["headers"])],
            )
            for r in rows
        ]
        await self.kafka.send_batch(records)
        crash.point("outbox:after_send")
        await conn.execute(
            "update outbox set published_at = now() where id = any($1::bigint[])", [r["id"] for r in rows]
        )
        metrics.OUTBOX_PUBLISHED.labels(self.producer).inc(len(rows))
        metrics.OUTBOX_PENDING.labels(self.producer).set(0)
        return len(rows)
