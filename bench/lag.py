"""Consumer lag of the bench run's consumer groups (committed offsets vs end offsets, read with aiokafka's
admin client, as kafka_exporter and deploy/monitoring/lag_exporter.py compute it) and runnable runs
(the SQL behind the `adrelay_runnable_runs` gauge, read directly: the gauge refreshes every 5 s)."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from adrelay.storage.db import Database

RUNNABLE_SQL = """
select count(*) filter (where next_attempt_at <= now()
                          and (lease_expires_at is null or lease_expires_at < now())) as runnable,
       count(*) as unfinished
from publisher_runs
where state in ('queued', 'running', 'waiting', 'rolling_back', 'activating')
"""


class LagReader:
    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.admin: AIOKafkaAdminClient | None = None
        self.consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="adrelay-bench-lag")
        await self.admin.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, client_id="adrelay-bench-lag"
        )
        await self.consumer.start()

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        if self.admin is not None:
            await self.admin.close()

    async def read(self) -> dict[str, int]:
        """Lag per consumer group of this run (messages not yet committed by the group)."""
        assert self.admin is not None and self.consumer is not None
        groups = sorted(
            str(g[0]) for g in await self.admin.list_consumer_groups() if str(g[0]).startswith(self.prefix)
        )
        committed: dict[str, dict[TopicPartition, int]] = {}
        wanted: set[TopicPartition] = set()
        for group in groups:
            offsets = await self.admin.list_consumer_group_offsets(group)
            kept = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
            committed[group] = kept
            wanted.update(kept)
        if not wanted:
            return dict.fromkeys(groups, 0)
        end = await self.consumer.end_offsets(list(wanted))
        return {
            group: sum(max(end.get(tp, off) - off, 0) for tp, off in offsets.items())
            for group, offsets in committed.items()
        }


async def runnable_runs(db: Database) -> tuple[int, int]:
    """(runnable now, unfinished) publisher runs across the three platforms."""
    async with db.connection() as conn:
        row = await conn.fetchrow(RUNNABLE_SQL)
    assert row is not None
    return int(row["runnable"]), int(row["unfinished"])
