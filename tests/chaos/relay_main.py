"""An outbox relay alone in a process, for the kill -9 test (`python -m tests.chaos.relay_main PRODUCER`)."""

from __future__ import annotations

import asyncio
import os
import sys

from adrelay.messaging.kafka import KafkaProducer
from adrelay.messaging.outbox import OutboxRelay


async def main(producer: str) -> None:
    kafka = KafkaProducer(os.environ["KAFKA_BOOTSTRAP_SERVERS"], client_id=producer)
    relay = OutboxRelay(
        os.environ["DATABASE_URL"],
        producer,
        kafka,
        poll_interval_s=0.2,
        batch=int(os.environ.get("RELAY_BATCH", "10")),
    )
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
