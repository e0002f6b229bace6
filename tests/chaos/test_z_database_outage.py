"""No event is lost while PostgreSQL is down: consumers retry in place and never acknowledge an event
they could not apply; the outbox relay reconnects and publishes what was committed.

Runs after the other chaos tests (file name): stopping the one database of the run is the most
disruptive thing the suite does.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

from adrelay import topics
from tests.conftest import USER_DATABASE_URL, RuntimeEnv
from tests.support.kafka import envelopes, produce_envelope, read_topic
from tests.support.processes import REPO, ServiceProcess
from tests.support.samples import publish_command


def _postgres(action: str) -> None:
    """Stop or start the PostgreSQL server of this run."""
    custom = os.environ.get(f"ADRELAY_TEST_PG_{action.upper()}_CMD")
    if custom:
        subprocess.run(custom, shell=True, check=True)
        return
    if USER_DATABASE_URL:
        pytest.fail(
            "this test stops and restarts PostgreSQL: with your own DATABASE_URL set "
            f"ADRELAY_TEST_PG_STOP_CMD and ADRELAY_TEST_PG_START_CMD (missing for {action})",
            pytrace=False,
        )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = "down" if action == "stop" else "up"
    subprocess.run(
        [sys.executable, str(REPO / "deploy/local/runtime.py"), command, "--only", "postgres"],
        env=env,
        check=True,
        capture_output=True,
    )


async def test_no_event_is_lost_while_postgres_is_down(
    runtime_env: RuntimeEnv, services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    commands = [publish_command() for _ in range(5)]
    _postgres("stop")
    try:
        for command in commands:
            await produce_envelope(runtime_env.bootstrap, command)
        failures = services["orchestrator"].metric("adrelay_events_failed_total", kind="transient")
        # Give the orchestrator time to meet the outage.
        await asyncio.sleep(3)
    finally:
        _postgres("start")
        await db.expire_connections()  # the suite's own pool reconnects instead of reusing dead sockets
    wanted = {c.campaign_id for c in commands}

    def all_received(records: list) -> bool:
        return wanted <= {e.campaign_id for e in envelopes(records, "PublishStatusChanged")}

    records = await read_topic(runtime_env.bootstrap, topics.STATUS.name, until=all_received, timeout=90)
    assert all_received(records), "events consumed during the outage were lost"
    assert services["orchestrator"].metric("adrelay_events_failed_total", kind="transient") >= max(
        failures, 1
    )
    for proc in services.values():
        assert proc.alive(), proc.log_tail()
        proc.wait_ready(timeout=30)
