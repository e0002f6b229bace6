"""Consumer lag of the bench run's consumer groups (committed vs end offsets, read through
`adrelay.messaging.offsets` as kafka_exporter and deploy/monitoring/lag_exporter.py compute it) and
runnable runs (the SQL behind the `adrelay_runnable_runs` gauge, read directly: it refreshes every 5 s)."""

from __future__ import annotations

from adrelay.messaging.offsets import BrokerOffsets
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
        self.prefix = prefix
        self.offsets = BrokerOffsets(bootstrap, client_id="adrelay-bench-lag")

    async def start(self) -> None:
        await self.offsets.start()

    async def stop(self) -> None:
        await self.offsets.stop()

    async def read(self) -> dict[str, int]:
        """Lag per consumer group of this run (messages not yet committed by the group)."""
        groups = await self.offsets.groups(self.prefix)
        committed = {group: await self.offsets.committed(group) for group in groups}
        end = await self.offsets.end({tp for offsets in committed.values() for tp in offsets})
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
