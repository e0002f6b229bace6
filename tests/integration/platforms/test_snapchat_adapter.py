"""The Snapchat adapter against the Snapchat sandbox, started in-process on an ephemeral port.

Every step of `adapter.plan(campaign)` is created in dependency order the way the engine drives it
(create, then check_ready until ready); the sandbox's inspection API proves what exists. Faults are
the sandbox's own (`POST /_sandbox/faults`); nothing is mocked.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from adrelay.engine.media import MediaStore
from adrelay.events.payloads import ErrorCategory
from adrelay.model import Campaign, Objective, Platform, SnapchatTarget
from adrelay.platforms.base import DELETE_ORDER, NotReady, PublishContext, Step, StepKind, StepOutcome
from adrelay.platforms.errors import LookupIncomplete, OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limit, Limiter, RateLimitWait
from adrelay.platforms.settings import PlatformSettings, SnapchatSettings
from adrelay.platforms.snapchat import create_adapter, create_reporting
from adrelay.platforms.snapchat.adapter import SnapchatAdapter
from adrelay.platforms.snapchat.classify import is_not_found
from sandbox.common.cli import build
from sandbox.snapchat import fixtures
from tests.support import samples
from tests.support.clock import early_in_fixed_window
from tests.support.media_server import MediaServer
from tests.support.tokens import StaticTokens

# Generous per-token limits unless a test is about them (pacing is tested on its own).
SANDBOX_CONFIG = {
    "video_processing_s": 0.3,
    "review_delay_s": 0.2,
    "rate_limits": {"token_per_s": 1000, "app_per_s": 1000},
}
TOP_SNAP_IMAGE = samples.png(1080, 1920)
MEDIA_FILES = {
    "image.png": TOP_SNAP_IMAGE,
    "cover.png": samples.COVER_BYTES,
    "video.mp4": samples.VIDEO_BYTES,
}


# ---- fixtures -------------------------------------------------------------------------------------
class MemoryLimiter(Limiter):
    """An in-process token bucket per scope that honours blocks: the engine's limiter, without the
    database, so pacing and header-driven blocks really hold calls back."""

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[float, float]] = {}
        self.blocked_until: dict[str, float] = {}
        self.blocks: list[tuple[str, float]] = []

    async def acquire(self, platform: Platform, limit: Limit) -> float:
        now = time.monotonic()
        until = self.blocked_until.get(limit.scope, 0.0)
        if until > now:
            return until - now
        tokens, last = self.buckets.get(limit.scope, (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - last) * limit.rate_per_s)
        if tokens >= 1.0:
            self.buckets[limit.scope] = (tokens - 1.0, now)
            return 0.0
        self.buckets[limit.scope] = (tokens, now)
        return (1.0 - tokens) / limit.rate_per_s

    async def block(
        self, platform: Platform, scope: str, seconds: float, usage_pct: float | None = None
    ) -> None:
        self.blocks.append((scope, seconds))
        self.blocked_until[scope] = max(self.blocked_until.get(scope, 0.0), time.monotonic() + seconds)


@dataclass
class Sandbox:
    app: Any
    url: str
    control: httpx.AsyncClient

    async def fault(self, effect: str, **rule: Any) -> None:
        answer = await self.control.post("/_sandbox/faults", json={"effect": effect, **rule})
        assert answer.status_code == 200, answer.text

    async def configure(self, **config: Any) -> None:
        answer = await self.control.post("/_sandbox/config", json=config)
        assert answer.status_code == 200, answer.text

    async def seed(self, payload: dict[str, Any]) -> None:
        answer = await self.control.post("/_sandbox/seed", json=payload)
        assert answer.status_code == 200, answer.text

    async def objects(self, kind: str, *, live_only: bool = False) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (
            await self.control.get("/_sandbox/objects", params={"kind": kind})
        ).json()["objects"]
        return [r for r in rows if not (live_only and r["deleted"])]

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        params = {"method": method} if method else {}
        entries: list[dict[str, Any]] = (await self.control.get("/_sandbox/requests", params=params)).json()[
            "requests"
        ]
        return [e for e in entries if not e["path"].startswith("/_sandbox")]

    async def forget_requests(self) -> None:
        await self.control.delete("/_sandbox/requests")


@pytest.fixture(scope="module")
def media_server() -> Iterator[MediaServer]:
    server = MediaServer(MEDIA_FILES).start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def snap() -> AsyncIterator[Sandbox]:
    sandbox = build("snapchat", dict(SANDBOX_CONFIG))
    runner = web.AppRunner(sandbox.app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=10) as control:
        box = Sandbox(sandbox, url, control)
        await box.seed(fixtures.demo_seed())
        yield box
    await runner.cleanup()


@pytest.fixture
def limiter() -> MemoryLimiter:
    return MemoryLimiter()


def settings_for(snap: Sandbox, timeout_s: float = 5.0, token_rps: float = 100.0) -> PlatformSettings:
    return PlatformSettings(
        snapchat=SnapchatSettings(
            api_url=snap.url, accounts_url=snap.url, client_id=fixtures.DEMO_CLIENT_ID, token_rps=token_rps
        ),
        http_timeout_s=timeout_s,
    )


@pytest_asyncio.fixture
async def adapter(snap: Sandbox, limiter: MemoryLimiter) -> AsyncIterator[SnapchatAdapter]:
    made = create_adapter(settings_for(snap), limiter)
    yield made
    await made.close()


def snap_campaign(media_base: str, **changes: Any) -> Campaign:
    raw = samples.campaign_dict(campaign_id=f"cmp-{uuid.uuid4().hex[:10]}", media_base=media_base)
    raw["media"][0].update(sha256=samples.sha256(TOP_SNAP_IMAGE), size_bytes=len(TOP_SNAP_IMAGE), height=1920)
    raw.update(changes)
    return Campaign.model_validate(raw)


TARGET = SnapchatTarget(
    connection_id="conn-snap", ad_account_id=fixtures.DEMO_AD_ACCOUNT_ID, brand_name="Coffee Co"
)


@pytest_asyncio.fixture
async def ctx(media_server: MediaServer, tmp_path: Path) -> AsyncIterator[PublishContext]:
    store = MediaStore(str(tmp_path))
    yield PublishContext(
        publish_id=f"pub-{uuid.uuid4().hex[:12]}",
        campaign=snap_campaign(media_server.base_url),
        target=TARGET,
        tokens=StaticTokens(fixtures.DEMO_ACCESS_TOKEN),
        media_store=store,
    )
    await store.close()


# ---- driving steps as the engine does ------------------------------------------------------------
async def until_ready(
    adapter: SnapchatAdapter, step: Step, ctx: PublishContext, outcome: StepOutcome
) -> StepOutcome:
    for _ in range(100):
        ready = await adapter.check_ready(step, ctx, outcome)
        if not isinstance(ready, NotReady):
            return ready
        await asyncio.sleep(min(ready.retry_after_s, 0.1))
    raise AssertionError(f"{step.key} never became ready")


async def run_step(adapter: SnapchatAdapter, step: Step, ctx: PublishContext) -> StepOutcome:
    outcome = await until_ready(adapter, step, ctx, await adapter.create(step, ctx))
    ctx.outcomes[step.key] = outcome
    return outcome


async def publish(adapter: SnapchatAdapter, ctx: PublishContext, stop_before: str | None = None) -> None:
    for step in adapter.plan(ctx.campaign):
        if step.key == stop_before:
            return
        await run_step(adapter, step, ctx)


def step_of(adapter: SnapchatAdapter, ctx: PublishContext, key: str) -> Step:
    return next(s for s in adapter.plan(ctx.campaign) if s.key == key)


def tagged(rows: list[dict[str, Any]], ctx: PublishContext) -> dict[str, dict[str, Any]]:
    """Sandbox rows of this publish, by the step whose tag their name carries."""
    tags = {ctx.tag(step.key): step.key for step in _plan_keys(ctx)}
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        for tag, key in tags.items():
            if tag in row["name"]:
                assert key not in out, f"two objects carry the tag of {key}"
                out[key] = row
    return out


def _plan_keys(ctx: PublishContext) -> list[Step]:
    from adrelay.platforms.base import default_plan

    return default_plan(ctx.campaign)


# ---- the whole tree -----------------------------------------------------------------------------
async def test_publish_creates_exactly_the_planned_tree(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await publish(adapter, ctx)
    plan = adapter.plan(ctx.campaign)
    assert [s.key for s in plan if s.kind is StepKind.MEDIA] == ["media:img-1", "media:vid-1"]
    expected = {"media": 2, "campaign": 1, "adsquad": 2, "creative": 4, "ad": 4}
    for kind, count in expected.items():
        rows = await snap.objects(kind)
        assert len(rows) == count, kind
        assert all(not r["deleted"] for r in rows)
        by_step = tagged(rows, ctx)
        assert len(by_step) == count, f"every {kind} carries its step's tag"
        for key, row in by_step.items():
            assert row["id"] == ctx.external_id(key)
    assert {r["status"] for r in await snap.objects("media")} == {"READY"}
    for kind in ("campaign", "adsquad", "ad"):
        assert {r["status"] for r in await snap.objects(kind)} == {"PAUSED"}


async def test_requests_carry_integer_micros_and_lowercase_geos(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await publish(adapter, ctx)
    posts = await snap.requests("POST")
    squads = [e["body"]["adsquads"][0] for e in posts if e["path"].endswith("/adsquads")]
    assert len(squads) == 2
    for squad in squads:
        assert squad["daily_budget_micro"] == 50_000_000 and isinstance(squad["daily_budget_micro"], int)
        assert squad["targeting"]["geos"] == [{"country_code": "us"}]
        assert squad["optimization_goal"] == "SWIPES"
        assert squad["bid_strategy"] == "AUTO_BID" and "bid_micro" not in squad
    campaign = next(e["body"]["campaigns"][0] for e in posts if e["path"].endswith("/campaigns"))
    assert campaign["objective_v2_properties"] == {"objective_v2_type": "TRAFFIC"}
    assert campaign["start_time"].endswith("Z")


async def test_preview_payloads_are_what_create_sends(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    planned = {p.step_key: p for p in adapter.preview(ctx.campaign, TARGET, ctx.publish_id)}
    assert list(planned) == [s.key for s in adapter.plan(ctx.campaign)]
    await publish(adapter, ctx)
    posts = [e for e in await snap.requests("POST") if "/upload" not in e["path"]]
    sent = {_tag_key(e["body"], ctx): e["body"] for e in posts}
    for key, plan in planned.items():
        expected = _fill(plan.payload, ctx)
        assert sent[key] == expected, key


def _tag_key(body: dict[str, Any], ctx: PublishContext) -> str:
    (items,) = body.values()
    name = items[0]["name"]
    return next(s.key for s in _plan_keys(ctx) if ctx.tag(s.key) in name)


def _fill(value: Any, ctx: PublishContext) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    if (
        isinstance(value, str)
        and value.startswith("{")
        and value.endswith("}")
        and value[1:-1] in ctx.outcomes
    ):
        return ctx.external_id(value[1:-1])
    return value


# ---- lookup ---------------------------------------------------------------------------------------
async def test_lookup_finds_every_object_by_its_tag(adapter: SnapchatAdapter, ctx: PublishContext) -> None:
    await publish(adapter, ctx)
    for step in adapter.plan(ctx.campaign):
        found = await adapter.lookup(step, ctx)
        assert found is not None, step.key
        assert found.external_id == ctx.external_id(step.key)


async def test_lookup_of_a_never_created_step_is_none(adapter: SnapchatAdapter, ctx: PublishContext) -> None:
    await publish(adapter, ctx)
    other = PublishContext(
        "pub-never", ctx.campaign, ctx.target, ctx.tokens, ctx.media_store, dict(ctx.outcomes)
    )
    for step in adapter.plan(ctx.campaign):
        assert await adapter.lookup(step, other) is None, step.key


async def test_lookup_without_the_parent_scans_the_account(
    adapter: SnapchatAdapter, ctx: PublishContext
) -> None:
    await publish(adapter, ctx)
    orphan = dict(ctx.outcomes)
    del orphan["ad_set:as-1"], orphan["campaign"]
    view = PublishContext(ctx.publish_id, ctx.campaign, ctx.target, ctx.tokens, ctx.media_store, orphan)
    for key in ("ad_set:as-1", "ad:ad-1-1"):
        found = await adapter.lookup(step_of(adapter, ctx, key), view)
        assert found is not None and found.external_id == ctx.external_id(key)


async def test_lookup_reads_every_page_and_counts_deleted_objects(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    filler = [
        {
            "kind": "campaign",
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "name": f"other {n}",
            "status": "PAUSED",
            "account_id": fixtures.DEMO_AD_ACCOUNT_ID,
            "fields": {
                "start_time": "2026-01-01T00:00:00.000Z",
                "ad_account_id": fixtures.DEMO_AD_ACCOUNT_ID,
            },
        }
        for n in range(1001)
    ]
    await snap.seed({"objects": filler})
    step = step_of(adapter, ctx, "campaign")
    created = await run_step(adapter, step, ctx)
    await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    await snap.forget_requests()
    found = await adapter.lookup(step, ctx)
    assert found is not None and found.external_id == created.external_id
    assert found.data["deleted"] is True
    pages = [e for e in await snap.requests("GET") if e["path"].endswith("/campaigns")]
    assert len(pages) == 2
    assert pages[0]["query"] == {"limit": "1000", "read_deleted_entities": "true"}
    assert "cursor" in pages[1]["query"] and pages[1]["query"]["read_deleted_entities"] == "true"


async def test_lookup_refuses_to_decide_when_a_page_fails(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    filler = [
        {
            "kind": "creative",
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "name": f"other {n}",
            "account_id": fixtures.DEMO_AD_ACCOUNT_ID,
            "fields": {"type": "SNAP_AD"},
        }
        for n in range(1000)
    ]
    await snap.seed({"objects": filler})
    await snap.fault(
        "transient", match={"method": "GET", "path": "/creatives$", "body_field": "cursor"}, count=1
    )
    await publish(adapter, ctx, stop_before="ad:ad-1-1")
    with pytest.raises(LookupIncomplete):
        await adapter.lookup(step_of(adapter, ctx, "creative:ad-1-1"), ctx)
    found = await adapter.lookup(step_of(adapter, ctx, "creative:ad-1-1"), ctx)  # the fault fired once
    assert found is not None and found.external_id == ctx.external_id("creative:ad-1-1")


async def test_two_objects_with_one_tag_are_a_conflict(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    step = step_of(adapter, ctx, "campaign")
    created = await run_step(adapter, step, ctx)
    twin = {
        "kind": "campaign",
        "id": str(uuid.uuid4()),
        "name": created.data["name"],
        "status": "PAUSED",
        "account_id": fixtures.DEMO_AD_ACCOUNT_ID,
        "fields": {"start_time": "2026-01-01T00:00:00.000Z"},
    }
    await snap.seed({"objects": [twin]})
    with pytest.raises(LookupIncomplete, match="conflict"):
        await adapter.lookup(step, ctx)


async def test_a_spare_media_record_does_not_stall_the_lookup(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    step = step_of(adapter, ctx, "media:img-1")
    ready = await run_step(adapter, step, ctx)
    spare = {
        "kind": "media",
        "id": "00000000-0000-4000-8000-000000000001",
        "name": ready.data["name"],
        "account_id": fixtures.DEMO_AD_ACCOUNT_ID,
        "fields": {"type": "IMAGE", "media_status": "PENDING_UPLOAD"},
    }
    await snap.seed({"objects": [spare]})  # as a refused upload leaves it: inert, listed first
    found = await adapter.lookup(step, ctx)
    assert found is not None and found.external_id == ready.external_id


async def test_a_create_snapchat_cannot_express_fails_unsent(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    ctx.campaign = ctx.campaign.model_copy(update={"objective": Objective.SALES})  # pixel goals, no pixel
    await publish(adapter, ctx, stop_before="ad_set:as-1")
    await snap.forget_requests()
    with pytest.raises(PlatformCallError) as caught:
        await adapter.create(step_of(adapter, ctx, "ad_set:as-1"), ctx)
    assert caught.value.category is ErrorCategory.VALIDATION
    assert caught.value.error.blamed_fields == ["targets.snapchat.pixel_id"]
    assert await snap.requests() == []


async def test_lookup_passes_auth_errors_on_for_the_engine_to_refresh(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await snap.fault("expired_token", match={"method": "GET"}, count=1)
    with pytest.raises(PlatformCallError) as caught:
        await adapter.lookup(step_of(adapter, ctx, "campaign"), ctx)
    assert caught.value.category is ErrorCategory.AUTH


# ---- unknown outcomes ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("campaign", r"/adaccounts/[^/]+/campaigns$"),
        ("ad_set:as-2", r"/campaigns/[^/]+/adsquads$"),
        ("creative:ad-2-1", r"/adaccounts/[^/]+/creatives$"),
        ("ad:ad-2-2", r"/adsquads/[^/]+/ads$"),
    ],
)
async def test_dropped_create_happened_and_lookup_finds_it(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox, key: str, path: str
) -> None:
    await publish(adapter, ctx, stop_before=key)
    await snap.fault("drop_after_apply", match={"method": "POST", "path": path}, count=1)
    step = step_of(adapter, ctx, key)
    with pytest.raises(OutcomeUnknown):
        await adapter.create(step, ctx)
    found = await adapter.lookup(step, ctx)
    assert found is not None
    kind = {"campaign": "campaign", "ad_set": "adsquad", "creative": "creative", "ad": "ad"}[
        key.split(":")[0]
    ]
    rows = tagged(await snap.objects(kind), ctx)
    assert rows[key]["id"] == found.external_id


async def test_dropped_media_create_is_found_pending_and_filled_not_recreated(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await snap.fault(
        "drop_after_apply", match={"method": "POST", "path": r"/adaccounts/[^/]+/media$"}, count=1
    )
    step = step_of(adapter, ctx, "media:vid-1")
    with pytest.raises(OutcomeUnknown):
        await adapter.create(step, ctx)
    found = await adapter.lookup(step, ctx)
    assert found is not None and found.data["media_status"] == "PENDING_UPLOAD" and not found.data["uploaded"]
    ready = await until_ready(adapter, step, ctx, found)
    assert ready.external_id == found.external_id and ready.data["media_status"] == "READY"
    rows = await snap.objects("media")
    assert [(r["id"], r["status"]) for r in rows] == [(found.external_id, "READY")]


async def test_failed_upload_leaves_the_record_for_check_ready_to_fill(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await snap.fault("transient", match={"method": "POST", "path": r"/media/[^/]+/upload$"}, count=1)
    step = step_of(adapter, ctx, "media:img-1")
    outcome = await adapter.create(step, ctx)
    assert outcome.data["uploaded"] is False
    ready = await until_ready(adapter, step, ctx, outcome)
    assert ready.data["media_status"] == "READY"
    assert len(await snap.objects("media")) == 1


async def test_dropped_upload_is_not_sent_twice(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await snap.fault("drop_after_apply", match={"method": "POST", "path": r"/media/[^/]+/upload$"}, count=1)
    step = step_of(adapter, ctx, "media:img-1")
    outcome = await adapter.create(step, ctx)
    ready = await until_ready(adapter, step, ctx, outcome)
    assert ready.data["media_status"] == "READY"
    uploads = [e for e in await snap.requests("POST") if e["path"].endswith("/upload")]
    assert len(uploads) == 1


async def test_server_error_on_a_create_is_an_unknown_outcome_and_absence_is_proven(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await snap.fault(
        "transient", match={"method": "POST", "path": "/campaigns$"}, params={"status": 500}, count=1
    )
    step = step_of(adapter, ctx, "campaign")
    with pytest.raises(OutcomeUnknown):
        await adapter.create(step, ctx)
    assert await adapter.lookup(step, ctx) is None  # the sandbox refused it before applying


async def test_timeout_on_a_create_is_an_unknown_outcome(
    snap: Sandbox, limiter: MemoryLimiter, ctx: PublishContext
) -> None:
    adapter = create_adapter(settings_for(snap, timeout_s=0.5), limiter)
    try:
        await snap.fault("latency", match={"method": "POST", "path": "/campaigns$"}, latency_ms=1500, count=1)
        with pytest.raises(OutcomeUnknown):
            await adapter.create(step_of(adapter, ctx, "campaign"), ctx)
        await snap.fault("latency", match={"method": "GET"}, latency_ms=1500, count=1)
        with pytest.raises(LookupIncomplete):  # a read timing out is transient; the lookup is not proven
            await adapter.lookup(step_of(adapter, ctx, "campaign"), ctx)
    finally:
        await adapter.close()


# ---- faults → taxonomy ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("effect", "params", "category", "retryable"),
    [
        ("expired_token", {}, ErrorCategory.AUTH, False),
        ("invalid_token", {}, ErrorCategory.AUTH, False),
        ("permission", {}, ErrorCategory.PERMISSION, False),
        ("rate_limit", {"retry_after_s": 3}, ErrorCategory.RATE_LIMIT, True),
        ("rate_limit", {}, ErrorCategory.RATE_LIMIT, True),
        ("transient", {}, ErrorCategory.TRANSIENT, True),
        (
            "validation",
            {"message": "start_time must include a time zone designator"},
            ErrorCategory.VALIDATION,
            False,
        ),
        ("not_found", {}, ErrorCategory.VALIDATION, False),
    ],
)
async def test_fault_effects_are_classified(
    adapter: SnapchatAdapter,
    ctx: PublishContext,
    snap: Sandbox,
    effect: str,
    params: dict[str, Any],
    category: ErrorCategory,
    retryable: bool,
) -> None:
    await snap.fault(effect, match={"method": "POST", "path": "/campaigns$"}, params=params, count=1)
    with pytest.raises(PlatformCallError) as caught:
        await adapter.create(step_of(adapter, ctx, "campaign"), ctx)
    error = caught.value
    assert error.category is category
    assert error.retryable is retryable
    assert error.error.trace_id
    if effect == "rate_limit":
        assert error.retry_after_s is not None and 0 < error.retry_after_s <= params.get("retry_after_s", 5)
    if effect == "not_found":
        assert is_not_found(error)
    if effect == "validation":
        assert error.error.blamed_fields == ["schedule.start_time"]
    assert await snap.objects("campaign") == []


async def test_a_refreshed_token_is_used_on_the_retry(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await snap.seed(
        {
            "tokens": [
                {
                    "access_token": "snap-expired",
                    "client_id": fixtures.DEMO_CLIENT_ID,
                    "expires_in": 0,
                    "organization_ids": [fixtures.DEMO_ORG_ID],
                },
                {
                    "access_token": "snap-fresh",
                    "client_id": fixtures.DEMO_CLIENT_ID,
                    "organization_ids": [fixtures.DEMO_ORG_ID],
                },
            ]
        }
    )
    tokens = StaticTokens("snap-expired", refreshed="snap-fresh")
    ctx.tokens = tokens
    step = step_of(adapter, ctx, "campaign")
    with pytest.raises(PlatformCallError) as caught:
        await adapter.create(step, ctx)
    assert caught.value.category is ErrorCategory.AUTH
    assert await tokens.after_auth_error("snap-expired") == "snap-fresh"  # what the engine does next
    created = await adapter.create(step, ctx)
    assert [r["id"] for r in await snap.objects("campaign")] == [created.external_id]


async def test_budget_too_low_is_budget_with_the_minimum_and_our_field(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await publish(adapter, ctx, stop_before="ad_set:as-1")
    await snap.fault("budget_too_low", match={"method": "POST", "path": "/adsquads$"}, count=1)
    with pytest.raises(PlatformCallError) as caught:
        await adapter.create(step_of(adapter, ctx, "ad_set:as-1"), ctx)
    error = caught.value.error
    assert error.category is ErrorCategory.BUDGET
    assert error.minimum_budget == "5"
    assert error.blamed_fields == ["ad_sets[0].budget.amount"]
    assert not caught.value.retryable


async def test_unfunded_account_is_a_budget_error(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await publish(adapter, ctx, stop_before="ad_set:as-1")
    await snap.fault("unfund", match={"method": "POST", "path": "/adsquads$"}, count=1)
    with pytest.raises(PlatformCallError) as caught:
        await adapter.create(step_of(adapter, ctx, "ad_set:as-1"), ctx)
    assert caught.value.category is ErrorCategory.BUDGET
    assert not caught.value.retryable
    assert await snap.objects("adsquad") == []


async def test_snap_refusal_blames_our_creative_field(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox, media_server: MediaServer
) -> None:
    raw = ctx.campaign.model_dump(mode="json")
    raw["ad_sets"][0]["ads"][0]["creative"]["headline"] = "A headline far too long for Snapchat"
    ctx.campaign = Campaign.model_validate(raw)
    assert any(
        i.path == "ad_sets[0].ads[0].creative.headline" for i in adapter.validate(ctx.campaign, TARGET, None)
    )
    await publish(adapter, ctx, stop_before="creative:ad-1-1")
    with pytest.raises(PlatformCallError) as caught:  # what Snap says when the rules are bypassed
        await adapter.create(step_of(adapter, ctx, "creative:ad-1-1"), ctx)
    assert caught.value.category is ErrorCategory.VALIDATION
    assert caught.value.error.blamed_fields == ["ad_sets[0].ads[0].creative.headline"]


# ---- rate limits --------------------------------------------------------------------------------
async def test_exhausted_endpoint_window_holds_the_next_write_back(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox, limiter: MemoryLimiter
) -> None:
    await snap.configure(rate_limits={"write": 2, "endpoint_window_s": 30})  # per endpoint, as Snap counts
    await early_in_fixed_window(30.0, need_s=10.0)
    await publish(adapter, ctx, stop_before="creative:ad-1-1")  # two ad squad writes: the window is spent
    scope = "snapchat:endpoint:conn-snap:POST /campaigns/{campaign_id}/adsquads"
    assert [s for s, _ in limiter.blocks] == [scope]
    assert 0 < limiter.blocks[0][1] <= 30
    sent_before = len(await snap.requests("POST"))
    with pytest.raises(RateLimitWait) as caught:
        await adapter.create(step_of(adapter, ctx, "ad_set:as-2"), ctx)
    assert caught.value.category is ErrorCategory.RATE_LIMIT and (caught.value.retry_after_s or 0) > 1
    assert len(await snap.requests("POST")) == sent_before  # never sent


async def test_token_throttling_is_a_rate_limit_with_the_reset(snap: Sandbox, ctx: PublishContext) -> None:
    await snap.configure(rate_limits={"token_per_s": 2, "app_per_s": 1000})
    adapter = create_adapter(settings_for(snap), Limiter())  # a limiter that never holds back
    try:
        step = step_of(adapter, ctx, "campaign")
        with pytest.raises(PlatformCallError) as caught:
            for _ in range(3):
                await adapter.lookup(step, ctx)
        assert caught.value.category is ErrorCategory.RATE_LIMIT
        assert caught.value.retry_after_s is not None and caught.value.retry_after_s <= 1.0
    finally:
        await adapter.close()


async def test_paced_calls_stay_within_the_token_allowance(
    snap: Sandbox, limiter: MemoryLimiter, ctx: PublishContext
) -> None:
    await snap.configure(rate_limits={"token_per_s": 10, "app_per_s": 1000})
    adapter = create_adapter(settings_for(snap, token_rps=8), limiter)
    try:
        step = step_of(adapter, ctx, "campaign")
        started = time.monotonic()
        for _ in range(12):
            assert await adapter.lookup(step, ctx) is None
        assert time.monotonic() - started >= 1.2  # 11 gaps at 8/s
    finally:
        await adapter.close()


# ---- uploads --------------------------------------------------------------------------------------
async def test_large_files_go_up_in_parts(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    adapter.client.simple_upload_max_bytes = 1000
    adapter.client.part_size_bytes = 50_000
    step = step_of(adapter, ctx, "media:vid-1")
    ready = await until_ready(adapter, step, ctx, await adapter.create(step, ctx))
    assert ready.data["media_status"] == "READY"
    posts = [e for e in await snap.requests("POST") if "multipart-upload-v2" in e["path"]]
    actions = [e["query"]["action"] for e in posts]
    assert actions == ["INIT", "ADD", "ADD", "ADD", "FINALIZE"]
    assert [e["body"]["part_number"] for e in posts if e["query"]["action"] == "ADD"] == ["1", "2", "3"]
    assert not [e for e in await snap.requests("POST") if e["path"].endswith("/upload")]


async def test_video_is_not_ready_until_snap_has_processed_it(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await snap.configure(video_processing_s=30)
    step = step_of(adapter, ctx, "media:vid-1")
    outcome = await adapter.create(step, ctx)
    assert outcome.data["uploaded"] is True
    waiting = await adapter.check_ready(step, ctx, outcome)
    assert isinstance(waiting, NotReady) and waiting.retry_after_s > 0


# ---- delete and activate --------------------------------------------------------------------------
async def test_delete_is_idempotent_and_leaves_no_live_object(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await publish(adapter, ctx)
    assert not adapter.deletes(StepKind.CREATIVE) and not adapter.deletes(StepKind.MEDIA)
    for _ in range(2):
        for kind in DELETE_ORDER:
            for key, outcome in ctx.outcomes.items():
                if key.partition(":")[0] == kind.value and adapter.deletes(kind):
                    await adapter.delete(kind, outcome.external_id, ctx)
    for kind in ("campaign", "adsquad", "ad"):
        assert await snap.objects(kind, live_only=True) == [], kind
    assert len(await snap.objects("media", live_only=True)) == 2  # media are shared and kept
    await adapter.delete(StepKind.CREATIVE, ctx.external_id("creative:ad-1-1"), ctx)  # a no-op
    await adapter.delete(StepKind.CAMPAIGN, str(uuid.uuid4()), ctx)  # never existed


async def test_an_unanswered_delete_is_transient_and_retrying_it_is_safe(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    created = await run_step(adapter, step_of(adapter, ctx, "campaign"), ctx)
    await snap.fault("drop_after_apply", match={"method": "DELETE"}, count=1)
    with pytest.raises(PlatformCallError) as caught:
        await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    assert caught.value.category is ErrorCategory.TRANSIENT and caught.value.retryable
    await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)  # the engine's retry: already gone
    assert await snap.objects("campaign", live_only=True) == []


async def test_activate_sets_everything_active_children_first_and_is_idempotent(
    adapter: SnapchatAdapter, ctx: PublishContext, snap: Sandbox
) -> None:
    await publish(adapter, ctx)
    objects = {
        k: o.external_id
        for k, o in ctx.outcomes.items()
        if k.partition(":")[0] in {"campaign", "ad_set", "ad"}
    }
    await snap.forget_requests()
    await adapter.activate(ctx, objects)
    for kind in ("campaign", "adsquad", "ad"):
        assert {r["status"] for r in await snap.objects(kind)} == {"ACTIVE"}, kind
    puts = [e["path"] for e in await snap.requests("PUT")]
    assert len(puts) == 7
    assert [p.rsplit("/", 1)[1] for p in puts] == ["ads"] * 4 + ["adsquads"] * 2 + ["campaigns"]
    squad = next(
        e["body"]["adsquads"][0] for e in await snap.requests("PUT") if e["path"].endswith("/adsquads")
    )
    assert "delivery_status" not in squad and "created_at" not in squad and squad["placement_v2"]
    await snap.forget_requests()
    await adapter.activate(ctx, objects)
    assert await snap.requests("PUT") == []


async def test_activate_of_a_deleted_object_fails_classified(
    adapter: SnapchatAdapter, ctx: PublishContext
) -> None:
    await publish(adapter, ctx, stop_before="ad_set:as-1")
    await adapter.delete(StepKind.CAMPAIGN, ctx.external_id("campaign"), ctx)
    with pytest.raises(PlatformCallError) as caught:
        await adapter.activate(ctx, {"campaign": ctx.external_id("campaign")})
    assert caught.value.category is ErrorCategory.VALIDATION


# ---- rules ----------------------------------------------------------------------------------------
async def test_validate_catches_snapchat_rules(adapter: SnapchatAdapter, media_server: MediaServer) -> None:
    raw = samples.campaign_dict(media_base=media_server.base_url)
    raw["media"][0].update(width=1080, height=1080)
    square = Campaign.model_validate(raw)
    issues = adapter.validate(square, TARGET, None)
    assert [(i.path, i.severity) for i in issues if i.severity == "error"] == [("media[0].width", "error")]
    wrong = samples.targets()[0]
    assert adapter.validate(square, wrong, None)[0].path == "targets"


# ---- reporting ------------------------------------------------------------------------------------
async def test_reporting_gives_daily_rows_per_level_in_exact_micros(
    adapter: SnapchatAdapter, snap: Sandbox, limiter: MemoryLimiter, media_server: MediaServer, tmp_path: Path
) -> None:
    await snap.configure(switches={"metrics_impressions_per_s": 400})
    now = datetime.now(UTC)
    live = snap_campaign(
        media_server.base_url,
        schedule={
            "start_time": (now - timedelta(hours=1)).isoformat(),
            "end_time": (now + timedelta(days=30)).isoformat(),
            "timezone": fixtures.DEMO_TIMEZONE,
        },
    )
    store = MediaStore(str(tmp_path))
    ctx = PublishContext("pub-report", live, TARGET, StaticTokens(fixtures.DEMO_ACCESS_TOKEN), store)
    await publish(adapter, ctx)
    await adapter.activate(
        ctx, {k: o.external_id for k, o in ctx.outcomes.items() if not k.startswith(("media", "creative"))}
    )
    await asyncio.sleep(1.0)  # reviews pass after 0.2 s; then the ads deliver
    await adapter.delete(
        StepKind.CAMPAIGN, ctx.external_id("campaign"), ctx
    )  # delivery stops: numbers freeze
    await store.close()
    reporting = create_reporting(settings_for(snap), limiter)
    try:
        today = datetime.now(ZoneInfo(fixtures.DEMO_TIMEZONE)).date()
        rows = await reporting.daily_metrics(
            fixtures.DEMO_ACCESS_TOKEN,
            fixtures.DEMO_AD_ACCOUNT_ID,
            ctx.external_id("campaign"),
            today - timedelta(days=1),
            today,
            connection_id="conn-snap",
        )
    finally:
        await reporting.close()
    by_level: dict[str, list[Any]] = {"campaign": [], "ad_set": [], "ad": []}
    for row in rows:
        by_level[row.level].append(row)
    assert {r.external_id for r in by_level["campaign"]} == {ctx.external_id("campaign")}
    assert {r.external_id for r in by_level["ad_set"]} == {
        ctx.external_id("ad_set:as-1"),
        ctx.external_id("ad_set:as-2"),
    }
    assert len({r.external_id for r in by_level["ad"]}) == 4
    campaign_total = sum(r.impressions for r in by_level["campaign"])
    assert campaign_total > 0
    for level in ("ad_set", "ad"):
        assert sum(r.impressions for r in by_level[level]) == campaign_total
        assert sum(r.spend_micros for r in by_level[level]) == sum(
            r.spend_micros for r in by_level["campaign"]
        )
    for row in rows:
        assert row.date in (today, today - timedelta(days=1))
        assert row.spend_micros == row.impressions * 5000 and isinstance(row.spend_micros, int)  # $5 CPM
        assert row.raw["stats"]["impressions"] == row.impressions
    stats_calls = [e for e in await snap.requests("GET") if e["path"].endswith("/stats")]
    assert len(stats_calls) == 7
    midnight = datetime.combine(
        today - timedelta(days=1), datetime.min.time(), ZoneInfo(fixtures.DEMO_TIMEZONE)
    )
    assert {e["query"]["start_time"] for e in stats_calls} == {midnight.isoformat()}
    assert {e["query"]["granularity"] for e in stats_calls} == {"DAY"}
