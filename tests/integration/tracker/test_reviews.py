"""Review outcomes by polling, against each sandbox: a disapproved ad becomes one AdReviewChanged with
its reasons, however often it is polled; the status handler starts and stops tracking."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from adrelay.events import AdReviewChanged, Envelope, PublishStatusChanged
from adrelay.events.payloads import ExternalIds, PlatformState, PublishStatus
from adrelay.model import Platform
from adrelay.tracker.schedule import REVIEW, Schedule
from adrelay.tracker.settings import TrackerSettings
from adrelay.tracker.status import StatusHandler
from tests.conftest import RuntimeEnv, Stack
from tests.integration.tracker.support import Parts, events, local_time, seed, track
from tests.support.samples import campaign_dict


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


@pytest.mark.parametrize("platform", ["meta", "tiktok", "snapchat"])
async def test_a_polled_disapproval_is_emitted_once_with_its_reasons(
    platform: str, parts: Parts, stack: Stack, db: object
) -> None:
    seeded = await seed(
        stack.sandbox(platform),
        platform,
        local_time(platform, 2, 10),
        local_time(platform, 2, 11),
        review="disapproved",
    )
    publish_id = await track(db, seeded, stack.connection_ids[platform])  # type: ignore[arg-type]
    for _ in range(2):  # polled twice: the second poll finds nothing new
        await parts.poll.run(await parts.claim(publish_id, platform, REVIEW))
    changes = [e.payload for e in await events(db, "AdReviewChanged", publish_id)]  # type: ignore[arg-type]
    assert len(changes) == len(seeded.ads)
    assert all(isinstance(c, AdReviewChanged) for c in changes)
    assert {(c.ad_id, c.external_ad_id) for c in changes} == set(seeded.ad_ids.items())  # type: ignore[union-attr]
    for change in changes:
        assert change.review == "disapproved" and change.source == "polling"  # type: ignore[union-attr]
        if platform != "tiktok":  # the TikTok seed has no reasons; the others carry them
            assert change.violations and change.violations[0].message  # type: ignore[union-attr]
    row = await db.fetchrow(  # type: ignore[attr-defined]
        "select * from ad_reviews where platform = $1 and external_ad_id = $2", platform, seeded.ads[0]
    )
    assert (row["emitted_review"], row["emitted_version"], row["dirty"]) == ("disapproved", 1, False)


async def test_published_starts_tracking_and_rolled_back_stops_it(
    runtime_env: RuntimeEnv, db: object, parts: Parts
) -> None:
    """The handler on the orchestrator's records: metric record, both jobs, attribution, review rows."""
    publish_id, campaign_id = f"pub-{uuid.uuid4().hex[:10]}", f"cmp-{uuid.uuid4().hex[:10]}"
    command = {
        "type": "PublishCampaign",
        "idempotency_key": publish_id,
        "campaign": campaign_dict(campaign_id=campaign_id),
        "targets": [
            {"platform": "tiktok", "connection_id": "demo-tiktok", "advertiser_id": "7300000000000000101",
             "identity_id": "7300000000000000201"},
        ],
    }  # fmt: skip
    await db.execute(  # type: ignore[attr-defined]
        """
        insert into publishes (publish_id, campaign_id, idempotency_key, payload_hash, command, status,
            partial_failure_policy, go_live_policy)
        values ($1, $2, $1, 'x', $3::jsonb, 'published', 'rollback', 'activate_when_all_succeeded')
        """,
        publish_id,
        campaign_id,
        orjson.dumps(command).decode(),
    )
    ids = ExternalIds(
        account_id="7300000000000000101",
        campaign="1700000000000000001",
        ad_sets={"as-1": "1700000000000000002", "as-2": "1700000000000000003"},
        ads={f"ad-{s}-{a}": f"17000000000000001{s}{a}" for s in (1, 2) for a in (1, 2)},
    )
    published = PublishStatusChanged(
        status=PublishStatus.PUBLISHED,
        platforms={Platform.TIKTOK: PlatformState.ACTIVE},
        external_ids={Platform.TIKTOK: ids},
        campaign_end_time=datetime(2030, 1, 1, tzinfo=UTC),
    )
    settings = TrackerSettings()
    handler = StatusHandler(settings, Schedule(parts.db, "test", 30.0))
    for _ in range(2):  # redelivered: tracking starts once
        async with db.acquire() as conn, conn.transaction():  # type: ignore[attr-defined]
            await handler(Envelope.new(published, campaign_id=campaign_id, publish_id=publish_id), conn)
    tracked = await db.fetchrow("select * from tracked_campaigns where publish_id = $1", publish_id)  # type: ignore[attr-defined]
    assert (tracked["connection_id"], tracked["account_id"], tracked["external_campaign_id"]) == (
        "demo-tiktok",
        "7300000000000000101",
        "1700000000000000001",
    )
    assert tracked["track_until"] == datetime(2030, 1, 8, tzinfo=UTC)  # end + the 7-day attribution window
    assert (tracked["impressions"], tracked["spend_micros"], tracked["state"]) == (0, 0, "active")
    jobs = await db.fetch("select * from tracking_schedule where publish_id = $1 order by job", publish_id)  # type: ignore[attr-defined]
    assert [j["job"] for j in jobs] == ["performance", "review"]
    delay = (jobs[0]["next_run_at"] - tracked["created_at"]).total_seconds()
    assert abs(delay - settings.first_delay_s) < 30
    attribution = await db.fetch("select * from ad_attribution where publish_id = $1", publish_id)  # type: ignore[attr-defined]
    assert len(attribution) == 4
    first = next(a for a in attribution if a["ad_id"] == "ad-1-1")
    assert first["external_ad_id"] == ids.ads["ad-1-1"]
    assert "utm_content=ad-1-1" in first["tracked_url"] and "ttclid=__CLICKID__" in first["tracked_url"]
    assert orjson.loads(first["utm"])["utm_campaign"] == campaign_id
    assert await db.fetchval("select count(*) from ad_reviews where publish_id = $1", publish_id) == 4  # type: ignore[attr-defined]

    rolled_back = PublishStatusChanged(
        status=PublishStatus.ROLLED_BACK, previous_status=PublishStatus.PUBLISHED
    )
    async with db.acquire() as conn, conn.transaction():  # type: ignore[attr-defined]
        await handler(Envelope.new(rolled_back, campaign_id=campaign_id, publish_id=publish_id), conn)
    tracked = await db.fetchrow("select * from tracked_campaigns where publish_id = $1", publish_id)  # type: ignore[attr-defined]
    assert (tracked["state"], tracked["stop_reason"]) == ("stopped", "rolled_back")
    states = await db.fetch("select state from tracking_schedule where publish_id = $1", publish_id)  # type: ignore[attr-defined]
    assert {s["state"] for s in states} == {"stopped"}
