"""Creating topics from the catalogue (idempotent): `adrelay topics create` and `make up`."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from adrelay import topics


async def ensure_topics(bootstrap: str, replication_factor: int = 1) -> int:
    """Create every catalogue topic (and its DLQ) that does not exist yet; return how many were made."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [d for d in topics.declarations() if d.name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(d.name, d.partitions, replication_factor, topic_configs=d.config) for d in missing]
            )
        return len(missing)
    finally:
        await admin.close()
