"""Consuming a topic safely with faust.

Two faust behaviours decide this design (see `local-runtime.md` §2): an exception leaving an agent
acknowledges (loses) the event, and a message that fails faust's own decoding is acknowledged and
dropped. So agents subscribe with raw bytes, acknowledge manually, decode with pydantic here, and
never let an exception out:

* undecodable bytes, an invalid payload, an unknown major schema version, or a `PermanentError` from
  the handler → dead-letter topic with the reason, then acknowledge (invariant 7);
* a transient failure (database down, broker hiccup) → retried in place with backoff, never
  acknowledged away, so nothing is lost once the dependency is back;
* an unexpected error → retried a few times, then dead-lettered with the error as the reason.

Every event is applied inside one PostgreSQL transaction together with its inbox row (invariant 2):
a redelivered event is recognised and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from adrelay.events import DecodeError, Envelope, UnknownEventType, decode
from adrelay.events.codec import peek_ids
from adrelay.messaging import crash, inbox
from adrelay.messaging.deadletter import dead_letter
from adrelay.messaging.outbox import EventTooLarge
from adrelay.messaging.watchdog import DeliveryProgress
from adrelay.observability import metrics
from adrelay.observability.logging import log_context
from adrelay.storage.db import is_transient_db_error
from adrelay.topics import TopicSpec

if TYPE_CHECKING:
    from adrelay.messaging.service import ServiceRuntime

log = logging.getLogger(__name__)

Handler = Callable[[Envelope, asyncpg.Connection], Awaitable[None]]
UNEXPECTED_ERROR_ATTEMPTS = 3
MAX_BACKOFF_S = 5.0


class PermanentError(Exception):
    """This event can never be applied (invalid for its purpose): dead-letter it with this reason."""


class TransientError(Exception):
    """A dependency is temporarily unavailable: retry this event in place."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientError) or is_transient_db_error(exc):
        return True
    try:
        from aiokafka.errors import KafkaError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", True))


@dataclass(frozen=True)
class Subscription:
    spec: TopicSpec
    handler: Handler
    event_types: frozenset[str] | None = None  # None: every known type

    @property
    def topic(self) -> str:
        return self.spec.name


class MessageProcessor:
    """Applies one raw Kafka message with the rules above. Never raises except on cancellation."""

    def __init__(self, runtime: ServiceRuntime, subscription: Subscription) -> None:
        self.runtime = runtime
        self.sub = subscription
        self.service = runtime.name

    async def process(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        partition: int,
        offset: int,
    ) -> str:
        """Returns the outcome: applied, duplicate, skipped or dead_lettered."""
        topic = self.sub.topic
        try:
            envelope = decode(value)
        except UnknownEventType:
            metrics.EVENTS_SKIPPED.labels(self.service, topic, "unknown_type").inc()
            return "skipped"
        except DecodeError as exc:
            await self._dead_letter(key, value, headers, partition, offset, str(exc), type(exc).__name__)
            return "dead_lettered"
        if self.sub.event_types is not None and envelope.type not in self.sub.event_types:
            metrics.EVENTS_SKIPPED.labels(self.service, topic, "not_handled").inc()
            return "skipped"
        attempts = 0
        backoff = 0.1
        with log_context(**envelope.log_context()):
            while True:
                started = time.perf_counter()
                try:
                    applied = await self._apply(envelope)
                except asyncio.CancelledError:
                    raise
                except (PermanentError, EventTooLarge) as exc:
                    metrics.EVENTS_FAILED.labels(self.service, topic, "permanent").inc()
                    await self._dead_letter(
                        key, value, headers, partition, offset, str(exc), "PermanentError"
                    )
                    return "dead_lettered"
                except Exception as exc:
                    if is_transient(exc):
                        metrics.EVENTS_FAILED.labels(self.service, topic, "transient").inc()
                        log.warning("transient failure applying %s, retrying: %r", envelope.type, exc)
                    else:
                        attempts += 1
                        metrics.EVENTS_FAILED.labels(self.service, topic, "unexpected").inc()
                        log.exception("unexpected failure applying %s (attempt %d)", envelope.type, attempts)
                        if attempts >= UNEXPECTED_ERROR_ATTEMPTS:
                            reason = f"handler failed {attempts} times: {type(exc).__name__}: {exc}"
                            await self._dead_letter(
                                key, value, headers, partition, offset, reason, "HandlerError"
                            )
                            return "dead_lettered"
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    continue
                metrics.HANDLER_SECONDS.labels(self.service, topic).observe(time.perf_counter() - started)
                if applied:
                    metrics.EVENTS_PROCESSED.labels(self.service, topic, envelope.type).inc()
                    return "applied"
                metrics.EVENTS_SKIPPED.labels(self.service, topic, "duplicate").inc()
                return "duplicate"

    async def _apply(self, envelope: Envelope) -> bool:
        async with self.runtime.db.transaction() as conn:
            if not await inbox.claim(conn, self.service, envelope):
                return False
            await self.sub.handler(envelope, conn)
            return True

    async def _dead_letter(
        self,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        partition: int,
        offset: int,
        reason: str,
        kind: str,
    ) -> None:
        with log_context(**peek_ids(value)):
            await dead_letter(
                self.runtime.kafka,
                service=self.service,
                source_topic=self.sub.topic,
                partition=partition,
                offset=offset,
                key=key,
                value=value,
                headers=headers,
                reason=reason,
                kind=kind,
            )


def faust_agent(processor: MessageProcessor, progress: DeliveryProgress) -> Callable[[Any], Awaitable[None]]:
    """The agent body: manual acknowledgement after the message is fully handled; what it was handed is
    reported to the consumer watchdog."""

    async def agent(stream: Any) -> None:
        async for event in stream.noack().events():
            if crash.stalls("consumer:stall"):  # chaos tests: a consumer that stops handing messages over
                await asyncio.Event().wait()
            message = event.message
            progress.started()
            try:
                await processor.process(
                    key=message.key,
                    value=message.value,
                    headers=list(message.headers or []),
                    partition=message.partition,
                    offset=message.offset,
                )
            finally:
                progress.finished()
            event.ack()

    return agent
