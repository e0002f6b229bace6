"""Consumer-group offsets as the broker sees them: what a group has committed and where each partition
ends. Read by the consumer watchdog and the bench. It is the broker's view on purpose: a consumer that
stopped fetching also stops learning new high watermarks, so its own numbers would show no lag.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class BrokerOffsets:
    def __init__(self, bootstrap: str, client_id: str) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None  # group-less: reads offsets, never commits

    async def start(self) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=self.client_id)
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, client_id=self.client_id
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def groups(self, prefix: str = "") -> list[str]:
        assert self._admin is not None, "start() first"
        return sorted(
            str(g[0]) for g in await self._admin.list_consumer_groups() if str(g[0]).startswith(prefix)
        )

    async def committed(
        self, group: str, partitions: Iterable[TopicPartition] | None = None
    ) -> dict[TopicPartition, int]:
        """The group's committed offsets; partitions it never committed are left out."""
        assert self._admin is not None, "start() first"
        wanted = list(partitions) if partitions is not None else None
        offsets = await self._admin.list_consumer_group_offsets(group, partitions=wanted)
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    async def end(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        assert self._consumer is not None, "start() first"
        wanted = list(partitions)
        return dict(await self._consumer.end_offsets(wanted)) if wanted else {}

    async def lag(self, group: str, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Messages per partition the group has not committed yet. A partition it never committed counts
        from its first retained message (consumers here start from the earliest offset)."""
        assert self._consumer is not None, "start() first"
        wanted = list(partitions)
        if not wanted:
            return {}
        committed = await self.committed(group, wanted)
        end = await self.end(wanted)
        missing = [tp for tp in wanted if tp not in committed]
        first: dict[TopicPartition, int] = {}
        if missing:
            first = {tp: off or 0 for tp, off in (await self._consumer.beginning_offsets(missing)).items()}
        return {tp: max(end.get(tp, 0) - committed.get(tp, first.get(tp, 0)), 0) for tp in wanted}
