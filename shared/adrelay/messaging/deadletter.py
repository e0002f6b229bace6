"""Dead letters (invariant 7): a message that can never be processed goes to `<topic>.dlq` with its
reason, original bytes and headers, and the consumer moves on.

The value is the original bytes untouched, so `adrelay dlq replay` can send it back after a fix.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka.errors import MessageSizeTooLargeError

from adrelay import topics
from adrelay.messaging.kafka import KafkaProducer
from adrelay.observability import metrics

log = logging.getLogger(__name__)
REASON_HEADER = "dlq.reason"


def dlq_topic(source_topic: str) -> str:
    return topics.dlq_of(source_topic)


async def dead_letter(
    kafka: KafkaProducer,
    *,
    service: str,
    source_topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]],
    reason: str,
    kind: str,
) -> None:
    """Write the dead letter; retried until the broker takes it (never dropped)."""
    dlq_headers = [h for h in headers if not h[0].startswith("dlq.")] + [
        (REASON_HEADER, reason.encode()[:4000]),
        ("dlq.kind", kind.encode()),
        ("dlq.source_topic", source_topic.encode()),
        ("dlq.source_partition", str(partition).encode()),
        ("dlq.source_offset", str(offset).encode()),
        ("dlq.consumer", service.encode()),
        ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
    ]
    backoff = 0.2
    body = value or b""
    while True:
        try:
            await kafka.send(dlq_topic(source_topic), key, body, dlq_headers)
            break
        except asyncio.CancelledError:
            raise
        except MessageSizeTooLargeError:
            # The original plus our headers no longer fits Kafka: keep where it came from, drop the bytes.
            dlq_headers = [*dlq_headers, ("dlq.value_dropped_bytes", str(len(body)).encode())]
            body = b""
            continue
        except Exception as exc:
            log.warning("dead-letter write failed (%r); retrying", exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
    metrics.DLQ_MESSAGES.labels(service, source_topic).inc()
    log.error(
        "dead-lettered a message",
        extra={"fields": {"topic": source_topic, "partition": partition, "offset": offset, "reason": reason}},
    )
