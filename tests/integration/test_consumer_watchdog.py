"""The consumer watchdog on the real broker: a service whose consumer stops handing messages over while
messages wait restarts itself in place, and the waiting message is then applied; an idle consumer with
nothing waiting is left alone.

The stall is the named stall point `consumer:stall` (the agent takes a message and never hands it on,
as faust's consumer does in faust-streaming/faust#175), on a tracker of its own (own database, topics
and group), so the session's services are untouched.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx

from adrelay import topics
from adrelay.events import Envelope, PublishStatusChanged, encode
from tests.conftest import RuntimeEnv, Stack
from tests.support.bad_input import isolated_services
from tests.support.kafka import produce

STALL_S = 4.0


async def _applied(database_url: str, event_id: str, timeout: float) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await conn.fetchval(
                "select true from processed_events where consumer = 'tracker' and event_id = $1", event_id
            ):
                return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await conn.close()


async def test_invariant_3_a_stalled_consumer_restarts_its_service_and_the_waiting_message_is_applied(
    runtime_env: RuntimeEnv,
    stack: Stack,  # its token key and sandbox addresses are in runtime_env: the tracker needs them to start
) -> None:
    env = {**runtime_env, "ADRELAY_CRASH_AT": "consumer:stall", "ADRELAY_CONSUMER_STALL_S": str(STALL_S)}
    async with isolated_services(env, ("tracker",)) as iso:
        tracker = iso.procs["tracker"]
        assert tracker.proc is not None
        pid = tracker.proc.pid

        # Nothing waits: however long the consumer is idle, the watchdog leaves it alone.
        await asyncio.sleep(STALL_S * 2)
        assert "restarting in place" not in tracker.log_text(), tracker.log_tail()

        event = Envelope.new(
            PublishStatusChanged(status="received"), campaign_id="cmp-watchdog", publish_id="pub-watchdog"
        )
        await produce(runtime_env.bootstrap, iso.topic(topics.STATUS), encode(event), key=b"cmp-watchdog")

        assert await _applied(iso.database_url, event.event_id, timeout=60), tracker.log_tail()
        log = tracker.log_text()
        assert "stall point consumer:stall reached" in log
        assert "restarting in place" in log and "no message delivered for" in log, tracker.log_tail()
        assert tracker.alive() and tracker.proc.pid == pid  # the same process, restarted by exec
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{tracker.url}/metrics", timeout=5)).text
        assert 'adrelay_consumer_stall_restarts{service="tracker"} 1.0' in metrics
