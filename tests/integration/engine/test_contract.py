"""One contract, every adapter: the engine publishing a campaign (2 ad sets x 2 ads, an image and a
video) on each platform, and each fault class its sandbox can inject meeting the right reaction —
retried and finished (transient, rate limit, an auth refusal Snapchat can refresh), or failed with the
right category and nothing left half-known (permission, validation, budget, auth without refresh).

The engine runs in this process on the session's database; the session's publishers are paused
meanwhile so only this runner drives the runs. Durable timers are fast-forwarded between attempts.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from adrelay.connections import ConnectionManager, ConnectionTokens
from adrelay.engine.journal import Journal
from adrelay.engine.media import MediaStore
from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.engine.workflow import EngineTimings, Workflows
from adrelay.events import CampaignPublishRequested, Envelope
from adrelay.messaging.outbox import Outbox
from adrelay.model import Platform
from adrelay.platforms.base import PublishContext
from adrelay.platforms.registry import adapter_for
from adrelay.platforms.settings import PlatformSettings
from adrelay.storage.db import Database
from tests.conftest import RuntimeEnv, Stack
from tests.support.processes import ServiceProcess
from tests.support.publishing import AD_SET_CREATE, clear_faults, fault, objects

PLATFORMS = ("meta", "tiktok", "snapchat")
# fault effect → (expected end state, expected error category when it fails)
FAULTS: dict[str, tuple[str, str | None]] = {
    "transient": ("succeeded", None),
    "rate_limit": ("succeeded", None),
    "permission": ("failed", "permission"),
    "validation": ("failed", "validation"),
    "budget_too_low": ("failed", "budget"),
}
TREE = {
    "meta": {"campaign", "adset", "ad"},
    "tiktok": {"campaign", "adgroup", "ad"},
    "snapchat": {"campaign", "adsquad", "ad"},
}


class Harness:
    def __init__(self, env: RuntimeEnv, stack: Stack) -> None:
        self.db = Database(env.database_url)
        self.settings = PlatformSettings()
        self.manager = ConnectionManager(self.db, self.settings)
        self.media = MediaStore()
        self.stack = stack

    async def publish(
        self,
        platform: str,
        pool: asyncpg.Pool,
        body: dict[str, Any] | None = None,
        publish_id: str | None = None,
        goal: str = "publish",
    ) -> tuple[str, dict[str, Any]]:
        """Publish the sample campaign (or `body`) on one platform, or record a retry of `publish_id`,
        or (`goal` "rollback") roll it back; return the run's end state and its row."""
        from tests.support.samples import campaign_dict

        target = next(t for t in self.stack.targets() if t["platform"] == platform)
        body = body or campaign_dict(media_base=self.stack.media.base_url)
        request = CampaignPublishRequested.model_validate({"campaign": body, "targets": [target]})
        publish_id = publish_id or f"pub-contract-{uuid.uuid4().hex[:10]}"
        journal = Journal(
            self.db,
            Platform(platform),
            owner="contract",
            emit=Outbox(f"{platform}-publisher").add,
            lease_s=30,
        )
        adapter = adapter_for(Platform(platform), self.settings, PostgresLimiter(self.db))
        flows = Workflows(
            journal, adapter, timings=EngineTimings(http_timeout_s=self.settings.http_timeout_s)
        )
        async with self.db.transaction() as conn:
            if goal == "publish":
                await journal.enqueue(
                    conn, Envelope.new(request, campaign_id=body["id"], publish_id=publish_id), request
                )
            else:
                await journal.set_goal(conn, publish_id, body["id"], goal)
        for _ in range(80):
            await asyncio.sleep(0.25)  # what platforms do in their own time (video processing) goes on
            # Fast-forward durable timers and platform blocks: this test is about reactions, not waits.
            await pool.execute(
                "update publisher_runs set next_attempt_at = now() where publish_id = $1", publish_id
            )
            await pool.execute("delete from rate_limits where platform = $1", platform)
            runs = [r for r in await journal.claim(1000) if r.publish_id == publish_id]
            if runs:
                run = runs[0]
                ctx = PublishContext(
                    publish_id,
                    run.request.campaign,
                    run.target,
                    ConnectionTokens(self.manager, run.target.connection_id),
                    self.media,
                )  # type: ignore[union-attr]
                await flows.drive(run, ctx)
            row = await pool.fetchrow(
                "select state, last_error from publisher_runs where publish_id = $1", publish_id
            )
            if row["state"] in {"succeeded", "failed", "rolled_back", "needs_manual_cleanup"}:
                return publish_id, dict(row)
        raise AssertionError(f"run {publish_id} never finished")

    async def close(self) -> None:
        await self.manager.close()
        await self.media.close()
        await self.db.close()


@pytest_asyncio.fixture(loop_scope="session")
async def harness(
    runtime_env: RuntimeEnv, stack: Stack, services: dict[str, ServiceProcess]
) -> AsyncIterator[Harness]:
    publishers = [services[f"{p}-publisher"].proc for p in PLATFORMS]
    for proc in publishers:
        proc.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
    made = Harness(runtime_env, stack)
    try:
        yield made
    finally:
        await made.close()
        for proc in publishers:
            proc.send_signal(signal.SIGCONT)  # type: ignore[union-attr]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_each_adapter_publishes_exactly_the_expected_objects(
    platform: str, harness: Harness, db: asyncpg.Pool, stack: Stack
) -> None:
    publish_id, row = await harness.publish(platform, db)
    assert row["state"] == "succeeded", row
    steps = await db.fetch(
        "select step_key, kind, external_id from publish_steps where publish_id = $1", publish_id
    )
    ids = {s["external_id"] for s in steps if s["kind"] in {"campaign", "ad_set", "ad"}}
    held = [
        o for o in await objects(stack.sandbox(platform)) if o["kind"] in TREE[platform] and o["id"] in ids
    ]
    assert len(held) == len(ids) == 1 + 2 + 4, held


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("effect", list(FAULTS))
async def test_each_fault_class_meets_the_right_reaction(
    platform: str, effect: str, harness: Harness, db: asyncpg.Pool, stack: Stack
) -> None:
    url = stack.sandbox(platform)
    await fault(
        url, {"effect": effect, "count": 1, "match": {"method": "POST", "path": AD_SET_CREATE[platform]}}
    )
    try:
        publish_id, row = await harness.publish(platform, db)
    finally:
        await clear_faults(url)
    state, category = FAULTS[effect]
    assert row["state"] == state, (platform, effect, row)
    if category is not None:
        error = row["last_error"]
        assert error is not None and f'"category": "{category}"' in error.replace('":"', '": "'), error
        # A refused create made nothing: no step is left half-known.
        unknown = await db.fetchval(
            "select count(*) from publish_steps where publish_id = $1 and state = 'started'", publish_id
        )
        assert unknown == 0


@pytest.mark.parametrize("platform", ["meta", "snapchat"])
async def test_an_auth_refusal_is_refreshed_where_the_platform_allows_else_fails_as_auth(
    platform: str, harness: Harness, db: asyncpg.Pool, stack: Stack
) -> None:
    """Snapchat refreshes the token and the create is retried; Meta cannot refresh: the publish fails as
    auth and the connection waits for a person (re-authorized here, as the demo account allows)."""
    from sandbox.stack import CONNECT

    url = stack.sandbox(platform)
    rule = {
        "effect": "expired_token",
        "count": 1,
        "match": {"method": "POST", "path": AD_SET_CREATE[platform]},
    }
    await fault(url, rule)
    try:
        _, row = await harness.publish(platform, db)
    finally:
        await clear_faults(url)
        if platform == "meta":
            await harness.manager.reauth("demo-meta", CONNECT["meta"]["credentials"])
    if platform == "snapchat":
        assert row["state"] == "succeeded", row
    else:
        assert row["state"] == "failed" and '"auth"' in (row["last_error"] or ""), row
