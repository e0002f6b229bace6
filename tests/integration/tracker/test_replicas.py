"""Tracker processes sharing the schedule: two replicas never run the same sync twice, and a replica
killed with SIGKILL in the middle of a sync leaves a job that another process resumes, after which the
schedule goes on. The jobs are rows made directly; whichever tracker process is up (these, or the
session's) runs them by the interval stored on the row."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RuntimeEnv, Stack
from tests.integration.tracker.support import local_time, seed, track
from tests.support.processes import REPO, ServiceProcess, free_port
from tests.support.publishing import fault, requests_log

TRACKER_ENV = {
    "ADRELAY_TRACKING_LEASE_S": "2",
    "ADRELAY_TRACKING_POLL_S": "0.3",
    "ADRELAY_REVIEW_POLL_S": "3600",
}


@pytest.fixture
def trackers(runtime_env: RuntimeEnv, stack: Stack) -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for proc in started:
        proc.stop()


def start_tracker(
    runtime_env: RuntimeEnv, started: list[ServiceProcess], name: str, **env: str
) -> ServiceProcess:
    proc = ServiceProcess(
        name,
        free_port(),
        {**runtime_env, **TRACKER_ENV, **env},
        Path(runtime_env["ADRELAY_LOG_DIR"]),
        argv=[sys.executable, str(REPO / "services" / "tracker" / "service.py")],
    )
    started.append(proc.start())
    return proc


async def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def slow_first_insights_read(url: str, campaign: str) -> None:
    """The first read of this campaign's insights hangs long enough to stop a tracker in the middle of it."""
    await fault(
        url,
        {"effect": "latency", "latency_ms": 8000, "count": 1, "match": {"path": f"/{campaign}/insights$"}},
    )


async def lease_held_by(db: Any, publish_id: str, pid: int) -> Any:
    """The performance job's row while the tracker process `pid` holds its lease, else None."""
    return await db.fetchrow(
        "select * from tracking_schedule where publish_id = $1 and job = 'performance' and lease_owner like $2",
        publish_id,
        f"%/tracker/{pid}/%",
    )


async def test_two_trackers_never_run_the_same_sync_twice(
    runtime_env: RuntimeEnv, stack: Stack, db: Any, trackers: list[ServiceProcess]
) -> None:
    url = stack.sandbox("meta")
    trees = [
        await seed(url, "meta", local_time("meta", 3, 12), local_time("meta", 2, 12), ads=1) for _ in range(6)
    ]
    publishes = [await track(db, tree, stack.connection_ids["meta"]) for tree in trees]
    # Two jobs at a time each, so that both replicas take some of the six.
    replicas = [
        start_tracker(runtime_env, trackers, f"tracker-replica-{i}", ADRELAY_TRACKING_CONCURRENCY="2")
        for i in (1, 2)
    ]
    for proc in replicas:
        proc.wait_ready(timeout=60)
    mark = max((e["seq"] for e in await requests_log(url)), default=0)
    await db.execute(
        "update tracking_schedule set next_run_at = now() where publish_id = any($1::text[]) and job = 'performance'",
        publishes,
    )

    async def all_ran() -> bool:
        runs = await db.fetch(
            "select runs from tracking_schedule where publish_id = any($1::text[]) and job = 'performance'",
            publishes,
        )
        return all(r["runs"] >= 1 for r in runs)

    await wait_for(all_ran, 45, "every sync to run")
    await asyncio.sleep(1.0)  # a second run of any job would show by now
    runs = await db.fetch(
        "select runs, last_run_by from tracking_schedule where publish_id = any($1::text[]) and job = 'performance'",
        publishes,
    )
    assert [r["runs"] for r in runs] == [1] * len(publishes)
    assert len({r["last_run_by"] for r in runs}) >= 2  # the replicas shared the work
    log = await requests_log(url, mark)
    for tree in trees:
        reads = [e for e in log if e["method"] == "GET" and e["path"].endswith(f"/{tree.campaign}/insights")]
        assert len(reads) == 3, (tree.campaign, reads)  # one read per level: one sync, never two
    events = await db.fetchval(
        "select count(*) from outbox where producer = 'tracker' and event_type = 'PerformanceSynced' "
        "and convert_from(message_key, 'UTF8') = any($1::text[])",
        [
            r["campaign_id"]
            for r in await db.fetch(
                "select campaign_id from tracked_campaigns where publish_id = any($1::text[])", publishes
            )
        ],
    )
    assert events == len(publishes)


async def test_a_tracker_killed_mid_sync_leaves_a_schedule_that_resumes(
    runtime_env: RuntimeEnv, stack: Stack, db: Any, trackers: list[ServiceProcess]
) -> None:
    url = stack.sandbox("meta")
    tree = await seed(url, "meta", local_time("meta", 3, 12), local_time("meta", 2, 12), ads=1)
    publish_id = await track(db, tree, stack.connection_ids["meta"], interval_s=1.0)
    await slow_first_insights_read(url, tree.campaign)
    doomed = start_tracker(runtime_env, trackers, "tracker-doomed")
    doomed.wait_ready(timeout=60)
    assert doomed.proc is not None
    pid = doomed.proc.pid
    await db.execute(
        "update tracking_schedule set next_run_at = now() where publish_id = $1 and job = 'performance'",
        publish_id,
    )

    held = await wait_for(
        lambda: lease_held_by(db, publish_id, pid), 30, "the doomed tracker to take the job"
    )
    await asyncio.sleep(0.5)  # inside the slow read now
    doomed.kill()
    assert held["runs"] == 0
    successor = start_tracker(runtime_env, trackers, "tracker-successor")
    successor.wait_ready(timeout=60)

    async def resumed_and_going_on() -> bool:
        runs = await db.fetchval(
            "select runs from tracking_schedule where publish_id = $1 and job = 'performance'", publish_id
        )
        return bool(runs >= 3)

    await wait_for(resumed_and_going_on, 45, "the schedule to resume and go on")
    row = await db.fetchrow(
        "select * from tracking_schedule where publish_id = $1 and job = 'performance'", publish_id
    )
    assert row["fencing_token"] > held["fencing_token"] and row["state"] == "active"
    assert f"/tracker/{pid}/" not in (row["lease_owner"] or "")
    days = await db.fetchval(
        "select count(*) from performance_metrics where publish_id = $1 and level = 'campaign'", publish_id
    )
    assert days == 2  # the two days of delivery, however many syncs read them


async def test_a_tracker_stopped_mid_sync_hands_its_lease_back_at_once(
    runtime_env: RuntimeEnv, stack: Stack, db: Any, trackers: list[ServiceProcess]
) -> None:
    """SIGTERM (a rolling deploy): the job in hand is stopped and its lease given back, so another
    tracker takes it now, not when the lease (60 s here) would have expired."""
    url = stack.sandbox("meta")
    tree = await seed(url, "meta", local_time("meta", 3, 12), local_time("meta", 2, 12), ads=1)
    publish_id = await track(db, tree, stack.connection_ids["meta"], interval_s=3600.0)
    await slow_first_insights_read(url, tree.campaign)
    leaving = start_tracker(runtime_env, trackers, "tracker-leaving", ADRELAY_TRACKING_LEASE_S="60")
    leaving.wait_ready(timeout=60)
    assert leaving.proc is not None
    pid = leaving.proc.pid
    await db.execute(
        "update tracking_schedule set next_run_at = now() where publish_id = $1 and job = 'performance'",
        publish_id,
    )

    before = await wait_for(
        lambda: lease_held_by(db, publish_id, pid), 30, "the leaving tracker to take the job"
    )
    await asyncio.sleep(0.5)  # inside the slow read now
    stopped_at = time.monotonic()
    await asyncio.to_thread(leaving.stop, 20.0)
    assert await lease_held_by(db, publish_id, pid) is None, "the lease is still held after a graceful stop"
    successor = start_tracker(runtime_env, trackers, "tracker-arriving")
    successor.wait_ready(timeout=60)

    async def ran_elsewhere() -> bool:
        row = await db.fetchrow(
            "select runs, last_run_by from tracking_schedule where publish_id = $1 and job = 'performance'",
            publish_id,
        )
        return bool(row["runs"] >= 1)

    await wait_for(ran_elsewhere, 30, "another tracker to run the job")
    assert time.monotonic() - stopped_at < 40  # well before the 60 s lease would have lapsed
    row = await db.fetchrow(
        "select * from tracking_schedule where publish_id = $1 and job = 'performance'", publish_id
    )
    assert before["runs"] == 0 and row["fencing_token"] > before["fencing_token"]
    assert f"/tracker/{pid}/" not in (row["last_run_by"] or "")
