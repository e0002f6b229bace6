"""End to end: a published campaign is tracked, synced, and its ads' review outcomes reach its status —
by webhook on Meta and TikTok (registered by a tracker with a public URL, deliveries signed and sent
twice by the sandboxes), by polling on Snapchat — each applied once, with its reasons, shown by
`adrelay status`; a disapproval sends a policy-violation notification.

A tracker of this test's own (`tracker-webhooks`) has the public URL; the session's tracker runs too,
sharing the consumer group and the database, so either may start tracking and run the jobs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adrelay.events import decode
from adrelay.orchestrator.store import publish_id_for
from adrelay.platforms.base import make_tag
from sandbox.meta import fixtures as meta_fx
from sandbox.tiktok import fixtures as tiktok_fx
from tests.conftest import RuntimeEnv, Stack
from tests.support.processes import REPO, ServiceProcess, free_port
from tests.support.publishing import AD_CREATE, clear_faults, command, fault, submit, view, wait_status

PLATFORMS = ("meta", "tiktok", "snapchat")
ADS = ("ad-1-1", "ad-1-2", "ad-2-1", "ad-2-2")
VERIFY_TOKEN = "verify-" + uuid.uuid4().hex
# The field of each platform's ad create that carries the ad's tag.
AD_NAME_FIELD = {"meta": "name", "tiktok": "creatives.0.ad_name", "snapchat": "ads.0.name"}


@pytest.fixture
def webhook_tracker(runtime_env: RuntimeEnv, services: dict[str, ServiceProcess]) -> Iterator[ServiceProcess]:
    port = free_port()
    proc = ServiceProcess(
        "tracker-webhooks",
        port,
        {
            **runtime_env,
            "ADRELAY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "ADRELAY_META_WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
            "ADRELAY_TRACKING_POLL_S": "0.3",
            "ADRELAY_TRACKING_LEASE_S": "5",
            "ADRELAY_REVIEW_POLL_S": "3600",  # reviews reach this test by webhook unless it asks for a poll
        },
        Path(runtime_env["ADRELAY_LOG_DIR"]),
        argv=[sys.executable, str(REPO / "services" / "tracker" / "service.py")],
    )
    proc.start()
    try:
        proc.wait_ready(timeout=60)
        yield proc
    finally:
        proc.stop()


async def eventually(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


async def registered(stack: Stack, tracker: ServiceProcess) -> bool:
    async with httpx.AsyncClient(timeout=10) as client:
        meta = (
            await client.get(
                f"{stack.sandbox('meta')}/v25.0/{meta_fx.APP_ID}/subscriptions",
                headers={"Authorization": f"Bearer {meta_fx.APP_ACCESS_TOKEN}"},
            )
        ).json()
        apps = (
            await client.get(
                f"{stack.sandbox('meta')}/v25.0/{meta_fx.AD_ACCOUNT_ID}/subscribed_apps",
                headers={"Authorization": f"Bearer {meta_fx.SYSTEM_USER_TOKEN}"},
            )
        ).json()
        tiktok = (
            await client.get(
                f"{stack.sandbox('tiktok')}/open_api/v1.3/subscription/get/",
                params={"app_id": tiktok_fx.APP_ID, "secret": tiktok_fx.APP_SECRET, "subscribe_entity": "AD"},
            )
        ).json()
    return (
        any(s["callback_url"] == f"{tracker.url}/webhooks/meta/" for s in meta.get("data", []))
        and any(a["id"] == meta_fx.APP_ID for a in apps.get("data", []))
        and any(
            s["callback_url"] == f"{tracker.url}/webhooks/tiktok/"
            and s["subscription_detail"].get("advertiser_id") == tiktok_fx.ADVERTISER_ID
            for s in (tiktok.get("data") or {}).get("subscriptions", [])
        )
    )


async def sandbox_config(stack: Stack, platforms: tuple[str, ...], config: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for platform in platforms:
            (await client.post(f"{stack.sandbox(platform)}/_sandbox/config", json=config)).raise_for_status()


async def outbox(db: Any, producer: str, event_type: str, publish_id: str) -> list[Any]:
    rows = await db.fetch(
        "select value from outbox where producer = $1 and event_type = $2 order by id", producer, event_type
    )
    return [e for e in (decode(r["value"]) for r in rows) if e.publish_id == publish_id]


async def test_a_published_campaign_is_tracked_and_its_reviews_reach_its_status(
    stack: Stack,
    services: dict[str, ServiceProcess],
    webhook_tracker: ServiceProcess,
    db: Any,
    runtime_env: RuntimeEnv,
) -> None:
    orchestrator = services["orchestrator"]
    await eventually(lambda: registered(stack, webhook_tracker), 30, "webhook registration")
    body = command(stack)
    publish_id = publish_id_for(body["idempotency_key"])
    tag = make_tag(publish_id, "ad:ad-1-1")
    await sandbox_config(stack, ("meta", "tiktok"), {"webhook_duplicate_deliveries": 1})
    try:
        for platform in PLATFORMS:  # ad-1-1 fails its review everywhere
            await fault(
                stack.sandbox(platform),
                {
                    "effect": "disapprove",
                    "count": 1,
                    "params": {"reasons": [f"Misleading claims on {platform}"]},
                    "match": {
                        "method": "POST",
                        "path": AD_CREATE[platform],
                        "body": {"field": AD_NAME_FIELD[platform], "contains": tag},
                    },
                },
            )
        await submit(orchestrator, body)
        result = await wait_status(orchestrator, publish_id)
        assert result["status"] == "published", result  # a disapproval does not roll anything back

        # Meta and TikTok: by webhook (Meta's delivery has no reasons: the tracker reads the ad for them).
        async def reviewed_by_webhook() -> dict[str, Any] | None:
            state = await view(orchestrator, publish_id)
            assert state is not None
            reviews = {p: state["platforms"][p]["review"] for p in ("meta", "tiktok")}
            done = all(set(r) >= set(ADS) for r in reviews.values())
            return reviews if done else None

        reviews = await eventually(reviewed_by_webhook, 60, "every Meta and TikTok ad's review")
    finally:
        await sandbox_config(stack, ("meta", "tiktok"), {"webhook_duplicate_deliveries": 0})
        for platform in PLATFORMS:
            await clear_faults(stack.sandbox(platform))
    for platform in ("meta", "tiktok"):
        disapproved = reviews[platform]["ad-1-1"]
        assert (disapproved["review"], disapproved["source"]) == ("disapproved", "webhook"), disapproved
        assert disapproved["violations"] and disapproved["violations"][0]["message"]
        for ad in ADS[1:]:
            assert (reviews[platform][ad]["review"], reviews[platform][ad]["source"]) == (
                "approved",
                "webhook",
            )
    assert [v["message"] for v in reviews["tiktok"]["ad-1-1"]["violations"]] == [
        "Misleading claims on tiktok"
    ]
    changes = await outbox(db, "tracker", "AdReviewChanged", publish_id)
    per_ad = [(e.payload.platform.value, e.payload.ad_id) for e in changes]
    assert sorted(per_ad) == sorted(
        {(p, a) for p in ("meta", "tiktok") for a in ADS}
    )  # once each, duplicates or not

    # Tracking started with the publish: metric records, schedule, attribution.
    async def tracked() -> list[Any]:
        rows = await db.fetch("select * from tracked_campaigns where publish_id = $1", publish_id)
        return rows if len(rows) == 3 else []

    rows = await eventually(tracked, 30, "tracking of the three platforms")
    assert {r["platform"] for r in rows} == set(PLATFORMS) and all(r["impressions"] == 0 for r in rows)
    jobs = await db.fetch(
        "select * from tracking_schedule where publish_id = $1 and job = 'performance'", publish_id
    )
    assert all(
        3500 < (j["next_run_at"] - j["created_at"]).total_seconds() < 3700 for j in jobs
    )  # the seed's hour
    links = await db.fetch("select * from ad_attribution where publish_id = $1", publish_id)
    assert len(links) == 12 and all("utm_source=" in link["tracked_url"] for link in links)

    # Snapchat has no ads webhooks: its review arrives when the review job polls (made due now).
    await db.execute(
        "update tracking_schedule set next_run_at = now() where publish_id = $1 and platform = 'snapchat' and job = 'review'",
        publish_id,
    )

    async def snapchat_reviewed() -> dict[str, Any] | None:
        state = await view(orchestrator, publish_id)
        assert state is not None
        review = state["platforms"]["snapchat"]["review"]
        return review if set(review) >= set(ADS) else None

    snap = await eventually(snapchat_reviewed, 30, "Snapchat's reviews by polling")
    assert (snap["ad-1-1"]["review"], snap["ad-1-1"]["source"]) == ("disapproved", "polling")
    assert [v["message"] for v in snap["ad-1-1"]["violations"]] == ["Misleading claims on snapchat"]

    # `adrelay status` shows the disapprovals with their reasons.
    cli = await asyncio.create_subprocess_exec(
        str(REPO / ".venv" / "bin" / "adrelay"),
        "status",
        publish_id,
        "--json",
        env={**runtime_env, "ADRELAY_API_URL": orchestrator.url, "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(cli.communicate(), timeout=60)
    assert cli.returncode == 0
    status = json.loads(out)
    for platform in PLATFORMS:
        assert status["platforms"][platform]["review"]["ad-1-1"]["review"] == "disapproved"
    kinds = [e["kind"] for e in status["timeline"]]
    assert kinds.count("review_disapproved") == 3
    notes = await outbox(db, "orchestrator", "NotificationRequested", publish_id)
    assert sum(1 for n in notes if n.payload.kind == "policy_violation") == 3

    # The first sync, made due now, reads every platform's report and says so.
    await db.execute(
        "update tracking_schedule set next_run_at = now() where publish_id = $1 and job = 'performance'",
        publish_id,
    )

    async def synced() -> list[Any]:
        events = await outbox(db, "tracker", "PerformanceSynced", publish_id)
        return events if len({e.payload.platform for e in events}) == 3 else []

    events = await eventually(synced, 45, "a performance sync on every platform")
    for event in events:
        assert event.payload.currency == "USD" and event.payload.time_zone in {
            "America/New_York",
            "America/Los_Angeles",
        }
    rows = await db.fetch("select * from tracked_campaigns where publish_id = $1", publish_id)
    assert all(r["last_synced_at"] is not None and r["state"] == "active" for r in rows)
