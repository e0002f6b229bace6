"""Performance syncs against the sandboxes, in-process on the test database: day buckets in each ad
account's time zone, per level, upserted (a re-sync gives the same totals), paging and asynchronous
report flows, and the ends of tracking (the attribution window, a campaign deleted on the platform)."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adrelay.events import PerformanceSynced
from sandbox.meta import fixtures as meta_fx
from tests.conftest import RuntimeEnv, Stack
from tests.integration.tracker.support import (
    Parts,
    by_day,
    delivery_seconds,
    events,
    local_time,
    rows,
    seed,
    track,
)
from tests.support.publishing import requests_log

PLATFORMS = ("meta", "tiktok", "snapchat")


@pytest.fixture
async def parts(runtime_env: RuntimeEnv, stack: Stack, services: dict):  # type: ignore[no-untyped-def]
    """The tracker's parts in this process; the session's tracker is paused meanwhile, so it cannot
    claim the jobs these tests drive by hand."""
    tracker = services["tracker"].proc
    tracker.send_signal(signal.SIGSTOP)
    made = Parts(runtime_env.database_url)
    try:
        yield made
    finally:
        await made.close()
        tracker.send_signal(signal.SIGCONT)


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_days_follow_the_accounts_time_zone_per_level_and_a_resync_changes_nothing(
    platform: str, parts: Parts, stack: Stack, db: object
) -> None:
    # Delivery from 22:00 local five days ago (already the next day in UTC) to noon two days ago.
    seeded = await seed(
        stack.sandbox(platform), platform, local_time(platform, 5, 22), local_time(platform, 2, 12)
    )
    publish_id = await track(db, seeded, stack.connection_ids[platform])  # type: ignore[arg-type]

    await parts.run_sync(publish_id, platform)
    campaign_rows = await rows(db, publish_id, "campaign")  # type: ignore[arg-type]
    seconds = delivery_seconds(seeded)
    days = by_day(campaign_rows)
    assert set(days) == set(seconds), (days, seconds)  # the account's days, not UTC's
    first, full = min(days), sorted(days)[1]
    assert days[first] / days[full] == pytest.approx(seconds[first] / seconds[full], rel=0.02)
    all_rows = await rows(db, publish_id)  # type: ignore[arg-type]
    assert {r["level"] for r in all_rows} == {"campaign", "ad_set", "ad"}
    assert {r["external_id"] for r in all_rows if r["level"] == "ad"} == set(seeded.ads)
    for level in ("ad_set", "ad"):
        level_rows = [r for r in all_rows if r["level"] == level]
        assert sum(r["impressions"] for r in level_rows) == sum(r["impressions"] for r in campaign_rows)
        assert sum(r["spend_micros"] for r in level_rows) == sum(r["spend_micros"] for r in campaign_rows)
    assert all(r["time_zone"] == seeded.zone.key and r["currency"] == "USD" for r in all_rows)
    assert all(r["spend_micros"] > 0 and r["raw"] for r in campaign_rows)

    await parts.run_sync(publish_id, platform)  # the same days read again
    again = await rows(db, publish_id)  # type: ignore[arg-type]
    assert [(r["level"], r["external_id"], r["day"], r["impressions"], r["spend_micros"]) for r in again] == [
        (r["level"], r["external_id"], r["day"], r["impressions"], r["spend_micros"]) for r in all_rows
    ]
    synced = [e.payload for e in await events(db, "PerformanceSynced", publish_id)]  # type: ignore[arg-type]
    assert len(synced) == 2 and all(isinstance(p, PerformanceSynced) for p in synced)
    assert synced[0].totals == synced[1].totals  # type: ignore[union-attr]
    assert synced[0].totals.impressions == sum(days.values())  # type: ignore[union-attr]
    assert synced[0].time_zone == seeded.zone.key and synced[0].currency == "USD"  # type: ignore[union-attr]
    tracked = await db.fetchrow(  # type: ignore[attr-defined]
        "select * from tracked_campaigns where publish_id = $1", publish_id
    )
    assert tracked["impressions"] == sum(days.values()) and tracked["time_zone"] == seeded.zone.key
    job = await db.fetchrow(  # type: ignore[attr-defined]
        "select * from tracking_schedule where publish_id = $1 and job = 'performance'", publish_id
    )
    assert job["runs"] == 2 and job["lease_owner"] is None and job["state"] == "active"


async def test_long_ranges_go_through_report_runs_with_paging(parts: Parts, stack: Stack, db: object) -> None:
    """40 days of 3 ads: Meta's asynchronous report runs (over 31 days), ad rows over two pages."""
    url = stack.sandbox("meta")
    seeded = await seed(url, "meta", local_time("meta", 41, 12), local_time("meta", 1, 12), ads=3)
    publish_id = await track(db, seeded, stack.connection_ids["meta"])  # type: ignore[arg-type]
    mark = max((e["seq"] for e in await requests_log(url)), default=0)
    await parts.run_sync(publish_id, "meta")
    calls = [e for e in await requests_log(url, mark) if "insights" in e["path"]]
    runs = [e for e in calls if e["method"] == "POST" and e["path"].endswith(f"/{seeded.campaign}/insights")]
    assert len(runs) == 3  # one report run per level
    pages = [
        e for e in calls if e["method"] == "GET" and e["path"].endswith("/insights") and "after" in e["query"]
    ]
    assert pages, "the ad level's 120 rows come in more than one page"
    ad_rows = await rows(db, publish_id, "ad")  # type: ignore[arg-type]
    assert len(ad_rows) == 3 * len(delivery_seconds(seeded))
    assert sum(r["impressions"] for r in ad_rows) == sum(
        r["impressions"]
        for r in await rows(db, publish_id, "campaign")  # type: ignore[arg-type]
    )


async def test_tiktok_report_tasks_give_the_synchronous_numbers(
    parts: Parts, runtime_env: RuntimeEnv, stack: Stack, db: object
) -> None:
    url = stack.sandbox("tiktok")
    seeded = await seed(url, "tiktok", local_time("tiktok", 4, 20), local_time("tiktok", 1, 6))
    sync_publish = await track(db, seeded, stack.connection_ids["tiktok"])  # type: ignore[arg-type]
    await parts.run_sync(sync_publish, "tiktok")
    expected = [
        (r["level"], r["external_id"], r["day"], r["impressions"], r["spend_micros"])
        for r in await rows(db, sync_publish)
    ]  # type: ignore[arg-type]
    # The same campaign read through report tasks replaces the same rows with the same numbers.
    tasks = Parts(runtime_env.database_url, report_mode="async")
    mark = max((e["seq"] for e in await requests_log(url)), default=0)
    try:
        await tasks.run_sync(sync_publish, "tiktok")
        paths = [e["path"] for e in await requests_log(url, mark)]
    finally:
        await tasks.close()
    assert sum(p.endswith("/report/task/create/") for p in paths) == 3
    assert any(p.endswith("/report/task/download/") for p in paths)
    assert not any(p.endswith("/report/integrated/get/") for p in paths)
    again = [
        (r["level"], r["external_id"], r["day"], r["impressions"], r["spend_micros"])
        for r in await rows(db, sync_publish)
    ]  # type: ignore[arg-type]
    assert again == expected and expected


async def test_tracking_stops_after_the_window_and_when_the_campaign_is_deleted(
    parts: Parts, stack: Stack, db: object
) -> None:
    url = stack.sandbox("meta")
    ended = await seed(url, "meta", local_time("meta", 3, 12), local_time("meta", 2, 12))
    until = datetime.now(UTC) + timedelta(seconds=1.5)
    publish_id = await track(db, ended, stack.connection_ids["meta"], track_until=until, interval_s=3600)  # type: ignore[arg-type]
    await parts.run_sync(publish_id, "meta")
    job = await db.fetchrow(
        "select * from tracking_schedule where publish_id = $1 and job = 'performance'", publish_id
    )  # type: ignore[attr-defined]
    assert job["next_run_at"] == until and job["state"] == "active"  # the last sync is due at the end
    await asyncio.sleep(max((until - datetime.now(UTC)).total_seconds(), 0) + 0.1)
    await parts.sync.run((await parts.schedule.claim(10, keys=[(publish_id, "meta", "performance")]))[0])
    tracked = await db.fetchrow("select * from tracked_campaigns where publish_id = $1", publish_id)  # type: ignore[attr-defined]
    assert (tracked["state"], tracked["stop_reason"]) == ("stopped", "window_closed")
    states = await db.fetch("select job, state from tracking_schedule where publish_id = $1", publish_id)  # type: ignore[attr-defined]
    assert {r["state"] for r in states} == {"stopped"}
    assert await parts.schedule.claim(10, keys=[(publish_id, "meta", "performance")]) == []
    assert len(await events(db, "PerformanceSynced", publish_id)) == 2  # type: ignore[arg-type]

    deleted = await seed(url, "meta", local_time("meta", 3, 12), local_time("meta", 2, 12))
    gone = await track(db, deleted, stack.connection_ids["meta"])  # type: ignore[arg-type]
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.delete(
            f"/v25.0/{deleted.campaign}", headers={"Authorization": f"Bearer {meta_fx.SYSTEM_USER_TOKEN}"}
        )
        assert answer.status_code == 200, answer.text
    await parts.run_sync(gone, "meta")
    tracked = await db.fetchrow("select * from tracked_campaigns where publish_id = $1", gone)  # type: ignore[attr-defined]
    assert (tracked["state"], tracked["stop_reason"]) == ("stopped", "deleted_on_platform")
