"""Invariant 2 across a crash: outbox rows all arrive, in per-campaign order, although the relay is
killed (SIGKILL) after sending a batch and before marking it sent. Duplicates on the wire are allowed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import defaultdict
from pathlib import Path

import asyncpg

from adrelay import topics
from adrelay.events import Envelope, MetricTotals, PerformanceSynced
from adrelay.messaging.outbox import Outbox
from adrelay.model import Platform
from tests.conftest import RuntimeEnv
from tests.support.kafka import envelopes, read_topic
from tests.support.processes import ServiceProcess, free_port

PRODUCER = "chaos-relay"
CAMPAIGNS = ["cmp-chaos-a", "cmp-chaos-b", "cmp-chaos-c"]
PER_CAMPAIGN = 20


def _event(campaign_id: str, seq: int) -> Envelope:
    payload = PerformanceSynced(
        platform=Platform.META,
        currency="USD",
        time_zone="UTC",
        date_from="2030-01-01",
        date_to="2030-01-01",
        totals=MetricTotals(),
        rows=seq,
    )
    return Envelope.new(payload, campaign_id=campaign_id, publish_id="pub-chaos")


async def test_invariant_2_outbox_survives_relay_kill_9(
    runtime_env: RuntimeEnv, db: asyncpg.Pool, tmp_path: Path
) -> None:
    outbox = Outbox(PRODUCER)
    for seq in range(PER_CAMPAIGN):  # interleaved campaigns, as real traffic is
        for campaign_id in CAMPAIGNS:
            async with db.acquire() as conn, conn.transaction():
                await outbox.add(conn, _event(campaign_id, seq))

    argv = [sys.executable, "-m", "tests.chaos.relay_main", PRODUCER]
    relay = ServiceProcess("relay", free_port(), dict(runtime_env), tmp_path, argv=argv)
    relay.start({"ADRELAY_CRASH_AT": "outbox:after_send@3", "RELAY_BATCH": "10"})
    assert relay.wait_exit(60) == -9, relay.log_tail()
    unpublished = await db.fetchval(
        "select count(*) from outbox where producer = $1 and published_at is null", PRODUCER
    )
    assert unpublished == len(CAMPAIGNS) * PER_CAMPAIGN - 20, "two batches marked before the crash"

    relay.start({"RELAY_BATCH": "10"})
    try:
        deadline = time.monotonic() + 60
        while await db.fetchval(
            "select count(*) from outbox where producer = $1 and published_at is null", PRODUCER
        ):
            assert time.monotonic() < deadline, relay.log_tail()
            await asyncio.sleep(0.2)
    finally:
        relay.stop()

    total = len(CAMPAIGNS) * PER_CAMPAIGN

    def complete(records: list) -> bool:
        return (
            len({e.event_id for e in envelopes(records, "PerformanceSynced") if e.publish_id == "pub-chaos"})
            >= total
        )

    records = await read_topic(runtime_env.bootstrap, topics.PERFORMANCE.name, until=complete, timeout=30)
    arrived = [e for e in envelopes(records, "PerformanceSynced") if e.campaign_id in CAMPAIGNS]
    assert len(arrived) > total, "the batch sent before the kill must have been sent again"
    by_campaign: dict[str, list[int]] = defaultdict(list)
    seen: set = set()
    for envelope in arrived:
        if envelope.event_id in seen:
            continue
        seen.add(envelope.event_id)
        by_campaign[envelope.campaign_id].append(envelope.payload.rows)
    for campaign_id in CAMPAIGNS:
        assert by_campaign[campaign_id] == list(range(PER_CAMPAIGN)), campaign_id
