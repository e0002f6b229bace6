"""The Meta adapter against the Meta sandbox, in-process on an ephemeral port, over real HTTP.

Each test starts from a reset sandbox with the demo seed; the adapter is pointed at it through
`PlatformSettings` only. Media come from a local file server. Nothing is mocked: faults are the
sandbox's own (`/_sandbox/faults`), objects are checked through its inspection API.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web

from adrelay.engine.media import MediaStore
from adrelay.events.payloads import ErrorCategory
from adrelay.model import Campaign, MetaTarget, Platform
from adrelay.platforms.base import DELETE_ORDER, NotReady, PublishContext, Step, StepKind, StepOutcome
from adrelay.platforms.errors import LookupIncomplete, OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limit, Limiter
from adrelay.platforms.meta import create_adapter, create_reporting, mapper
from adrelay.platforms.meta.adapter import MetaAdapter
from adrelay.platforms.settings import MetaSettings, PlatformSettings
from sandbox.common.cli import build
from sandbox.meta import fixtures as fx
from sandbox.meta import settings as meta_settings
from tests.support.clock import away_from_midnight
from tests.support.media_server import MediaServer
from tests.support.samples import campaign_dict
from tests.support.tokens import StaticTokens

SANDBOX_CONFIG: dict[str, Any] = {
    "review_delay_s": 0.2,
    "video_processing_s": 0.3,
    "list_read_lag_ms": 0,
    "rate_limits": {"calls_per_window": 100000, "window_s": 3600, "error": "80004"},
}
# Sample tree: 2 ad sets x 2 ads (image + video), images img-1 and the video's cover, one video.
EXPECTED = {"campaign": 1, "adset": 2, "ad": 4, "adcreative": 4, "adimage": 2, "advideo": 1}


# ---- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
async def sandbox_url() -> AsyncIterator[str]:
    sandbox = build("meta", SANDBOX_CONFIG)
    runner = web.AppRunner(sandbox.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture(scope="module")
def media_server() -> Iterator[MediaServer]:
    server = MediaServer().start()
    yield server
    server.stop()


class Sandbox:
    """The sandbox's control and inspection API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, f"/_sandbox/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def fault(
        self, effect: str, method: str, path: str, body: dict[str, Any] | None = None, **extra: Any
    ) -> None:
        match = {"method": method, "path": path, **({"body": body} if body else {})}
        await self.control("POST", "faults", {"effect": effect, "match": match, **extra})

    async def switches(self, **values: Any) -> None:
        await self.control("POST", "config", {"switches": values})

    async def objects(self, kind: str | None = None, *, live: bool | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (
            await self.control("GET", f"objects?kind={kind}" if kind else "objects")
        )["objects"]
        rows = [r for r in rows if r["kind"] in EXPECTED]
        return rows if live is None else [r for r in rows if r["deleted"] is not live]

    async def counts(self, *, live: bool | None = None) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in await self.objects(live=live):
            out[row["kind"]] = out.get(row["kind"], 0) + 1
        return out

    async def requests(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.control("GET", "requests"))["requests"]
        return rows

    async def graph(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(
            f"/v25.0/{path}", params=params, headers={"Authorization": f"Bearer {fx.SYSTEM_USER_TOKEN}"}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def sb(sandbox_url: str) -> AsyncIterator[Sandbox]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as http:
        sandbox = Sandbox(http)
        await sandbox.control("POST", "reset")
        await sandbox.control("POST", "config", {**SANDBOX_CONFIG, "switches": dict(meta_settings.DEFAULTS)})
        await sandbox.control("POST", "seed", fx.demo_seed())
        yield sandbox


class RecordingLimiter(Limiter):
    """Our own limiter interface, recording what the adapter asks of it."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.blocked: list[tuple[str, float, float | None]] = []

    async def acquire(self, platform: Platform, limit: Limit) -> float:
        self.acquired.append(limit.scope)
        return 0.0

    async def block(
        self, platform: Platform, scope: str, seconds: float, usage_pct: float | None = None
    ) -> None:
        self.blocked.append((scope, seconds, usage_pct))


@pytest.fixture
def limiter() -> RecordingLimiter:
    return RecordingLimiter()


def settings_for(sandbox_url: str) -> PlatformSettings:
    """The sandbox instead of graph.facebook.com / graph-video.facebook.com: configuration only."""
    return PlatformSettings(
        meta=MetaSettings(
            graph_url=sandbox_url,
            video_url=sandbox_url,
            api_version="v25.0",
            app_id=fx.APP_ID,
            app_secret=fx.APP_SECRET,
            slow_down_at_pct=75,
        ),
        http_timeout_s=10,
    )


@pytest.fixture
async def adapter(sandbox_url: str, limiter: RecordingLimiter) -> AsyncIterator[MetaAdapter]:
    meta = create_adapter(settings_for(sandbox_url), limiter)
    assert isinstance(meta, MetaAdapter)
    yield meta
    await meta.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[MediaStore]:
    media = MediaStore(str(tmp_path))
    yield media
    await media.close()


TARGET = MetaTarget(
    connection_id="conn-meta", ad_account_id=fx.AD_ACCOUNT_ID, page_id=fx.PAGE_ID, pixel_id=fx.PIXEL_ID
)


def sample(media_server: MediaServer, **changes: Any) -> Campaign:
    raw = campaign_dict(media_base=media_server.base_url)
    raw.update(changes)
    return Campaign.model_validate(raw)


def context(campaign: Campaign, store: MediaStore, publish_id: str | None = None) -> PublishContext:
    return PublishContext(
        publish_id=publish_id or f"pub-{uuid.uuid4().hex[:10]}",
        campaign=campaign,
        target=TARGET,
        tokens=StaticTokens(fx.SYSTEM_USER_TOKEN),
        media_store=store,
    )


async def until_ready(
    adapter: MetaAdapter, step: Step, ctx: PublishContext, outcome: StepOutcome
) -> StepOutcome:
    for _ in range(100):
        ready = await adapter.check_ready(step, ctx, outcome)
        if not isinstance(ready, NotReady):
            return ready
        await asyncio.sleep(0.05)
    raise AssertionError(f"{step.key} never became ready")


async def publish(adapter: MetaAdapter, ctx: PublishContext) -> dict[str, StepOutcome]:
    """Every step of the plan in dependency order, as the engine runs them."""
    for step in adapter.plan(ctx.campaign):
        assert all(dep in ctx.outcomes for dep in step.depends_on)
        outcome = await adapter.create(step, ctx)
        ctx.outcomes[step.key] = await until_ready(adapter, step, ctx, outcome)
    return ctx.outcomes


def step_of(adapter: MetaAdapter, campaign: Campaign, key: str) -> Step:
    return next(s for s in adapter.plan(campaign) if s.key == key)


# ---- publishing -----------------------------------------------------------------------------------------
async def test_publish_creates_exactly_the_planned_objects_paused_and_tagged(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    outcomes = await publish(adapter, ctx)
    assert await sb.counts() == EXPECTED
    rows = {row["id"]: row for row in await sb.objects()}
    for key in ("campaign", "ad_set:as-1", "ad_set:as-2", "ad:ad-1-1", "ad:ad-2-2"):
        row = rows[outcomes[key].external_id]
        assert row["status"] == "PAUSED"
        assert row["name"].endswith(f"[{ctx.tag(key)}]")
    creative = await sb.graph(
        outcomes["creative:ad-1-1"].external_id, fields="name,object_story_spec,adlabels"
    )
    assert creative["adlabels"][0]["name"] == ctx.tag("creative:ad-1-1")
    link = creative["object_story_spec"]["link_data"]["link"]
    assert f"utm_campaign={ctx.campaign.id}" in link and "utm_content=ad-1-1" in link
    video = await sb.graph(outcomes["creative:ad-1-2"].external_id, fields="object_story_spec")
    assert video["object_story_spec"]["video_data"]["video_id"] == outcomes["media:vid-1"].external_id
    assert (
        video["object_story_spec"]["video_data"]["image_hash"]
        == outcomes["media:img-cover"].data["image_hash"]
    )


async def test_tokens_travel_in_the_header_never_in_a_url(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    await publish(adapter, context(sample(media_server), store))
    graph_calls = [r for r in await sb.requests() if r["path"].startswith("/v25.0/")]
    assert graph_calls
    assert all(
        "access_token" not in r["query"] and "access_token" not in (r["body"] or {}) for r in graph_calls
    )
    assert all("appsecret_proof" in r["query"] or "appsecret_proof" in (r["body"] or {}) for r in graph_calls)


async def test_an_ad_set_goal_meta_refuses_comes_back_as_a_blamed_validation_error(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    raw = campaign_dict(media_base=media_server.base_url)
    raw["objective"] = "sales"
    for ad_set in raw["ad_sets"]:
        ad_set["optimization_goal"] = "landing_page_views"
    ctx = context(Campaign.model_validate(raw), store)
    assert "ad_sets[0].optimization_goal" in {i.path for i in adapter.validate(ctx.campaign, TARGET, None)}
    ctx.outcomes["campaign"] = await adapter.create(step_of(adapter, ctx.campaign, "campaign"), ctx)
    with pytest.raises(PlatformCallError) as refused:
        await adapter.create(step_of(adapter, ctx.campaign, "ad_set:as-1"), ctx)
    assert refused.value.category is ErrorCategory.VALIDATION
    assert refused.value.error.platform_subcode == "2490408"
    assert refused.value.error.blamed_fields == ["optimization_goal"]
    assert await sb.counts() == {"campaign": 1}


async def test_conversions_campaign_publishes_with_the_pixel(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server, objective="sales"), store)
    outcomes = await publish(adapter, ctx)
    ad_set = await sb.graph(outcomes["ad_set:as-1"].external_id, fields="optimization_goal,promoted_object")
    assert ad_set["optimization_goal"] == "OFFSITE_CONVERSIONS"
    assert ad_set["promoted_object"] == {"pixel_id": fx.PIXEL_ID, "custom_event_type": "PURCHASE"}


async def test_campaign_budget_publishes_with_the_bid_strategy_on_the_campaign(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    raw = campaign_dict(media_base=media_server.base_url)
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": "daily", "amount": {"amount_minor": 20000, "currency": "USD"}}
    for ad_set in raw["ad_sets"]:
        del ad_set["budget"]
        ad_set["bid_strategy"] = "bid_cap"
        ad_set["bid_amount"] = {"amount_minor": 300, "currency": "USD"}
    ctx = context(Campaign.model_validate(raw), store)
    outcomes = await publish(adapter, ctx)
    campaign = await sb.graph(outcomes["campaign"].external_id, fields="daily_budget,bid_strategy")
    assert campaign == {
        "id": outcomes["campaign"].external_id,
        "daily_budget": "20000",
        "bid_strategy": "LOWEST_COST_WITH_BID_CAP",
    }


# ---- lookup by tag --------------------------------------------------------------------------------------
async def test_lookup_finds_every_created_object_by_its_tag(
    adapter: MetaAdapter, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    outcomes = await publish(adapter, ctx)
    for step in adapter.plan(ctx.campaign):
        found = await adapter.lookup(step, ctx)
        assert found is not None, step.key
        assert found.external_id == outcomes[step.key].external_id, step.key
    ad = await adapter.lookup(step_of(adapter, ctx.campaign, "ad:ad-1-1"), ctx)
    assert ad is not None and ad.data["creative_id"] == outcomes["creative:ad-1-1"].external_id


async def test_lookup_of_steps_never_created_proves_absence(
    adapter: MetaAdapter, media_server: MediaServer, store: MediaStore
) -> None:
    campaign = sample(media_server)
    await publish(adapter, context(campaign, store))
    fresh = context(campaign, store)  # same campaign, another publish: other tags
    for step in adapter.plan(campaign):
        found = await adapter.lookup(step, fresh)
        if step.key.startswith("media:img"):
            # Images are content-addressed: the same bytes are the same image, whoever uploaded them.
            assert found is not None and found.data["image_hash"]
        else:
            assert found is None, step.key


async def test_lookup_pages_through_every_ad_label(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    outcomes = await publish(adapter, ctx)
    # Labels are listed newest first: these 230 come before ours, which is on the third page.
    labels = [
        {"kind": "adlabel", "name": f"other-{i:03d}", "account_id": fx.AD_ACCOUNT_ID, "created_at": 9e9 + i}
        for i in range(230)
    ]
    await sb.control("POST", "seed", {"objects": labels})
    found = await adapter.lookup(step_of(adapter, ctx.campaign, "creative:ad-2-1"), ctx)
    assert found is not None and found.external_id == outcomes["creative:ad-2-1"].external_id
    pages = [r for r in await sb.requests() if r["path"].endswith("/adlabels") and r["method"] == "GET"]
    assert sum("after" in r["query"] for r in pages) >= 2


async def test_an_edge_refusing_deleted_in_the_status_list_is_asked_again_without_it(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    step = step_of(adapter, ctx.campaign, "campaign")
    created = await adapter.create(step, ctx)
    message = "(#100) Param effective_status[3] must be one of {ACTIVE, PAUSED, ARCHIVED, IN_PROCESS}"
    await sb.fault("validation", "GET", LOOKUP_PATH, params={"message": message}, count=1)
    found = await adapter.lookup(step, ctx)
    assert found is not None and found.external_id == created.external_id
    asked = [r["query"]["effective_status"] for r in await sb.requests() if r["method"] == "GET"]
    assert "DELETED" in asked[-2] and "DELETED" not in asked[-1]


async def test_two_objects_with_one_tag_are_a_conflict_not_a_match(
    adapter: MetaAdapter, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    step = step_of(adapter, ctx.campaign, "campaign")
    await adapter.create(step, ctx)
    await adapter.create(step, ctx)
    with pytest.raises(LookupIncomplete, match="2 objects carry tag"):
        await adapter.lookup(step, ctx)


async def test_a_lookup_that_fails_midway_does_not_claim_absence(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    labels = [{"kind": "adlabel", "name": f"l{i}", "account_id": fx.AD_ACCOUNT_ID} for i in range(150)]
    await sb.control("POST", "seed", {"objects": labels})
    ctx = context(sample(media_server), store)
    await sb.fault("transient", "GET", "/adlabels$", body={"field": "after"})
    with pytest.raises(PlatformCallError) as failed:
        await adapter.lookup(step_of(adapter, ctx.campaign, "creative:ad-1-1"), ctx)
    assert failed.value.category is ErrorCategory.TRANSIENT


# ---- unknown outcomes -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edge", "key"),
    [
        ("adimages", "media:img-1"),
        ("advideos", "media:vid-1"),
        ("campaigns", "campaign"),
        ("adsets", "ad_set:as-1"),
        ("adcreatives", "creative:ad-1-1"),
        ("ads", "ad:ad-1-1"),
    ],
)
async def test_a_dropped_create_happened_and_lookup_finds_it(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore, edge: str, key: str
) -> None:
    ctx = context(sample(media_server), store)
    await sb.fault("drop_after_apply", "POST", f"/{edge}$", count=1)
    unknown = []
    for step in adapter.plan(ctx.campaign):
        try:
            outcome = await adapter.create(step, ctx)
        except OutcomeUnknown:
            unknown.append(step.key)
            found = await adapter.lookup(step, ctx)
            assert found is not None, f"{step.key} was applied but not found"
            outcome = found
        ctx.outcomes[step.key] = await until_ready(adapter, step, ctx, outcome)
    assert unknown == [key]
    assert await sb.counts() == EXPECTED  # found, not created twice
    dropped = [r for r in await sb.requests() if r["status"] == "dropped"]
    assert len(dropped) == 1 and dropped[0]["path"].endswith(f"/{edge}")


async def test_a_server_error_on_create_is_an_unknown_outcome_resolved_by_lookup(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    step = step_of(adapter, ctx.campaign, "campaign")
    await sb.fault("transient", "POST", "/campaigns$", count=1)
    with pytest.raises(OutcomeUnknown):
        await adapter.create(step, ctx)
    assert await adapter.lookup(step, ctx) is None  # refused before the write: provably absent
    created = await adapter.create(step, ctx)
    assert (await adapter.lookup(step, ctx)) == StepOutcome(
        created.external_id, {"effective_status": "PAUSED"}
    )


# ---- delete and activate --------------------------------------------------------------------------------
async def test_rollback_deletes_children_first_idempotently_and_keeps_media(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    outcomes = await publish(adapter, ctx)
    for _ in range(2):  # the second pass deletes what is already deleted
        for kind in DELETE_ORDER:
            for key, outcome in outcomes.items():
                if key.split(":")[0] == kind.value and adapter.deletes(kind):
                    await adapter.delete(kind, outcome.external_id, ctx)
    assert not adapter.deletes(StepKind.MEDIA)
    assert await sb.counts(live=True) == {"adimage": 2, "advideo": 1}
    assert await sb.counts(live=False) == {"campaign": 1, "adset": 2, "ad": 4, "adcreative": 4}
    for key in ("campaign", "ad_set:as-1", "ad:ad-1-1", "creative:ad-1-1"):
        # Meta does not list deleted objects on edges: once gone, a tag is not found again.
        assert await adapter.lookup(step_of(adapter, ctx.campaign, key), ctx) is None


async def test_deleted_objects_are_found_where_meta_lists_them(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    await sb.switches(list_deleted_objects=True)
    ctx = context(sample(media_server), store)
    step = step_of(adapter, ctx.campaign, "campaign")
    created = await adapter.create(step, ctx)
    await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    found = await adapter.lookup(step, ctx)
    assert found == StepOutcome(created.external_id, {"effective_status": "DELETED"})


async def test_deleting_what_never_existed_returns_normally(
    adapter: MetaAdapter, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    await adapter.delete(StepKind.AD, "120219999999999999", ctx)
    await adapter.delete(StepKind.MEDIA, "ignored", ctx)


async def test_a_refused_delete_of_a_live_object_is_not_taken_for_success(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    created = await adapter.create(step_of(adapter, ctx.campaign, "campaign"), ctx)
    await sb.fault("not_found", "DELETE", f"/{created.external_id}$", count=1)
    with pytest.raises(PlatformCallError) as refused:
        await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    assert refused.value.category is ErrorCategory.VALIDATION
    assert await sb.counts(live=True) == {"campaign": 1}


async def test_a_refused_second_delete_of_a_deleted_object_counts_as_done(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    created = await adapter.create(step_of(adapter, ctx.campaign, "campaign"), ctx)
    await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    await sb.fault("validation", "DELETE", f"/{created.external_id}$", count=1)
    await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    await sb.fault("permission", "DELETE", f"/{created.external_id}$", count=1)
    with pytest.raises(PlatformCallError) as refused:
        await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    assert refused.value.category is ErrorCategory.PERMISSION


async def test_activation_sets_campaign_ad_sets_and_ads_active(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    outcomes = await publish(adapter, ctx)
    live = {k: o.external_id for k, o in outcomes.items() if k.split(":")[0] in {"campaign", "ad_set", "ad"}}
    await sb.control("DELETE", "requests")
    await adapter.activate(ctx, live)
    await adapter.activate(ctx, live)  # idempotent
    statuses = {row["id"]: row["status"] for row in await sb.objects()}
    assert {statuses[i] for i in live.values()} == {"ACTIVE"}
    order = [r["path"].rsplit("/", 1)[1] for r in await sb.requests() if r["method"] == "POST"][: len(live)]
    assert order[-1] == outcomes["campaign"].external_id  # the campaign goes live last


# ---- media ----------------------------------------------------------------------------------------------
async def test_a_video_is_not_ready_while_meta_processes_it(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    await sb.control("POST", "config", {"video_processing_s": 1.0})
    ctx = context(sample(media_server), store)
    step = step_of(adapter, ctx.campaign, "media:vid-1")
    outcome = await adapter.create(step, ctx)
    first = await adapter.check_ready(step, ctx, outcome)
    assert isinstance(first, NotReady) and first.retry_after_s == adapter.video_poll_s
    assert await until_ready(adapter, step, ctx, outcome) == outcome


async def test_large_videos_go_up_in_chunks_and_resume_after_a_lost_chunk(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    adapter.video_chunk_threshold = 10_000
    await sb.switches(video_chunk_size=32_768)
    await sb.fault(
        "drop_after_apply",
        "POST",
        "/advideos$",
        body={"field": "upload_phase", "equals": "transfer"},
        count=1,
    )
    ctx = context(sample(media_server), store)
    step = step_of(adapter, ctx.campaign, "media:vid-1")
    outcome = await until_ready(adapter, step, ctx, await adapter.create(step, ctx))
    video = await sb.graph(outcome.external_id, fields="title,status")
    assert video["title"] == outcome.data["title"] and ctx.tag(step) in video["title"]
    assert video["status"]["uploading_phase"]["bytes_transferred"] == ctx.media("vid-1").size_bytes
    phases = [
        (r["body"] or {}).get("upload_phase") for r in await sb.requests() if r["path"].endswith("/advideos")
    ]
    assert phases[0] == "start" and phases[-1] == "finish" and phases.count("transfer") >= 5
    assert await adapter.lookup(step, ctx) == outcome


async def test_an_unfinished_chunked_upload_is_not_taken_for_the_video(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    adapter.video_chunk_threshold = 10_000
    await sb.fault("permission", "POST", "/advideos$", body={"field": "upload_phase", "equals": "transfer"})
    ctx = context(sample(media_server), store)
    step = step_of(adapter, ctx.campaign, "media:vid-1")
    with pytest.raises(PlatformCallError):
        await adapter.create(step, ctx)
    assert len(await sb.objects("advideo")) == 1
    assert await adapter.lookup(step, ctx) is None


# ---- classification of every fault the sandbox can inject ---------------------------------------------
LOOKUP_PATH = "/act_[0-9]+/campaigns$"


@pytest.mark.parametrize(
    ("effect", "params", "category", "retryable"),
    [
        ("expired_token", {}, ErrorCategory.AUTH, False),
        ("invalid_token", {}, ErrorCategory.AUTH, False),
        ("permission", {}, ErrorCategory.PERMISSION, False),
        ("rate_limit", {"regain_minutes": 5}, ErrorCategory.RATE_LIMIT, True),
        ("rate_limit", {"code": "17"}, ErrorCategory.RATE_LIMIT, True),
        ("rate_limit", {"code": "613"}, ErrorCategory.RATE_LIMIT, True),
        ("transient", {}, ErrorCategory.TRANSIENT, True),
        ("transient", {"code": 1}, ErrorCategory.TRANSIENT, True),
        ("deprecated_version", {}, ErrorCategory.VALIDATION, False),
        ("not_found", {}, ErrorCategory.VALIDATION, False),
        ("validation", {}, ErrorCategory.VALIDATION, False),
    ],
)
async def test_faults_on_a_read_are_classified(
    adapter: MetaAdapter,
    sb: Sandbox,
    media_server: MediaServer,
    store: MediaStore,
    effect: str,
    params: dict[str, Any],
    category: ErrorCategory,
    retryable: bool,
) -> None:
    ctx = context(sample(media_server), store)
    await sb.fault(effect, "GET", LOOKUP_PATH, params=params, count=1)
    with pytest.raises(PlatformCallError) as failed:
        await adapter.lookup(step_of(adapter, ctx.campaign, "campaign"), ctx)
    assert failed.value.category is category
    assert failed.value.retryable is retryable
    assert await adapter.lookup(step_of(adapter, ctx.campaign, "campaign"), ctx) is None  # once only


async def test_a_throttle_blocks_the_account_for_metas_estimate(
    adapter: MetaAdapter, sb: Sandbox, limiter: RecordingLimiter, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    await sb.fault("rate_limit", "GET", LOOKUP_PATH, params={"regain_minutes": 5}, count=1)
    with pytest.raises(PlatformCallError) as throttled:
        await adapter.lookup(step_of(adapter, ctx.campaign, "campaign"), ctx)
    assert throttled.value.retry_after_s == 300
    assert (f"meta:account:{fx.AD_ACCOUNT_ID}", 300.0, 100.0) in limiter.blocked
    assert (
        f"meta:account:{fx.AD_ACCOUNT_ID}" in limiter.acquired and f"meta:app:{fx.APP_ID}" in limiter.acquired
    )


async def test_usage_near_the_limit_slows_the_account_down_before_meta_throttles(
    adapter: MetaAdapter, sb: Sandbox, limiter: RecordingLimiter, media_server: MediaServer, store: MediaStore
) -> None:
    await sb.control("POST", "config", {"rate_limits": {"calls_per_window": 10, "window_s": 3600}})
    ctx = context(sample(media_server), store)
    step = step_of(adapter, ctx.campaign, "campaign")
    for _ in range(9):
        await adapter.lookup(step, ctx)
    scope = f"meta:account:{fx.AD_ACCOUNT_ID}"
    held = [(seconds, pct) for s, seconds, pct in limiter.blocked if s == scope]
    assert held and held[0][1] == 80.0  # the first answer at or above 75 %
    assert 0 < held[0][0] < held[-1][0]


async def test_an_adcreative_hiccup_1487390_is_retryable(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    await sb.fault("meta_1487390", "POST", "/adcreatives$", count=1)
    with pytest.raises(PlatformCallError) as failed:
        await publish(adapter, ctx)
    assert failed.value.category is ErrorCategory.TRANSIENT and failed.value.retryable
    assert failed.value.error.platform_subcode == "1487390"


async def test_budget_faults_carry_the_minimum(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    ctx.outcomes["campaign"] = await adapter.create(step_of(adapter, ctx.campaign, "campaign"), ctx)
    await sb.fault("budget_too_low", "POST", "/adsets$", params={"minimum": "$60.00"}, count=1)
    with pytest.raises(PlatformCallError) as failed:
        await adapter.create(step_of(adapter, ctx.campaign, "ad_set:as-1"), ctx)
    assert failed.value.category is ErrorCategory.BUDGET
    assert failed.value.error.minimum_budget == "$60.00"
    assert failed.value.error.blamed_fields == ["daily_budget"]


async def test_an_account_without_payment_method_cannot_create_ads(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    await sb.fault("unfund", "POST", "/ads$", params={"mode": "no_payment_method"}, count=1)
    with pytest.raises(PlatformCallError) as failed:
        await publish(adapter, ctx)
    assert failed.value.category is ErrorCategory.BUDGET
    assert failed.value.error.platform_subcode == "1359188"


async def test_a_disapproved_ad_is_found_with_its_review_status(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ctx = context(sample(media_server), store)
    await sb.fault("disapprove", "POST", "/ads$", count=1)
    await publish(adapter, ctx)
    await asyncio.sleep(0.3)
    found = await adapter.lookup(step_of(adapter, ctx.campaign, "ad:ad-1-1"), ctx)
    assert found is not None and found.data["effective_status"] == "DISAPPROVED"


# ---- before any write -------------------------------------------------------------------------------------
async def test_remote_validation_reports_metas_verdict_and_creates_nothing(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    ok = context(sample(media_server), store)
    assert await adapter.remote_validate(ok) == []
    raw = campaign_dict(media_base=media_server.base_url)
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": "daily", "amount": {"amount_minor": 50, "currency": "USD"}}
    for ad_set in raw["ad_sets"]:
        del ad_set["budget"]
    too_low = context(Campaign.model_validate(raw), store)
    issues = await adapter.remote_validate(too_low)
    assert [(i.path, i.severity) for i in issues] == [("budget.amount", "error")]
    assert "Budget is too low" in issues[0].message
    assert await sb.counts() == {}


async def test_remote_validation_checks_ad_sets_once_the_campaign_exists(
    adapter: MetaAdapter, sb: Sandbox, media_server: MediaServer, store: MediaStore
) -> None:
    raw = campaign_dict(media_base=media_server.base_url)
    raw["ad_sets"][1]["targeting"] = {"countries": ["FR"], "age_min": 30}
    ctx = context(Campaign.model_validate(raw), store)
    ctx.outcomes["campaign"] = await adapter.create(step_of(adapter, ctx.campaign, "campaign"), ctx)
    issues = await adapter.remote_validate(ctx)
    assert [i.path for i in issues] == ["ad_sets[1].targeting.countries"]  # DSA payer/beneficiary for the EU
    assert "No Beneficiary or Payer Provided" in issues[0].message
    assert await sb.counts() == {"campaign": 1}


async def test_validate_catches_what_meta_would_refuse(
    media_server: MediaServer, adapter: MetaAdapter
) -> None:
    raw = campaign_dict(media_base=media_server.base_url)
    raw["ad_sets"][0]["budget"] = {"period": "daily", "amount": {"amount_minor": 500050, "currency": "HUF"}}
    raw["ad_sets"][1]["budget"] = {"period": "daily", "amount": {"amount_minor": 500000, "currency": "HUF"}}
    issues = adapter.validate(Campaign.model_validate(raw), TARGET, None)
    assert [(i.path, i.severity) for i in issues if i.severity == "error"] == [
        ("ad_sets[0].budget.amount", "error")
    ]


async def test_preview_lists_every_object_with_its_payload(
    media_server: MediaServer, adapter: MetaAdapter
) -> None:
    campaign = sample(media_server)
    planned = adapter.preview(campaign, TARGET, "pub-preview")
    assert [p.step_key for p in planned] == [s.key for s in adapter.plan(campaign)]
    by_key = {p.step_key: p for p in planned}
    tag = by_key["campaign"].payload["name"].rsplit("[", 1)[1].rstrip("]")
    assert by_key["campaign"].payload == mapper.campaign_payload(campaign, tag)
    assert by_key["campaign"].endpoint == f"POST /{fx.AD_ACCOUNT_ID}/campaigns"
    assert by_key["ad_set:as-1"].payload["campaign_id"] == "{campaign}"
    creative = by_key["creative:ad-1-2"].payload["object_story_spec"]["video_data"]
    assert (
        creative["video_id"] == "{media:vid-1}" and creative["image_hash"] == "{media:img-cover.image_hash}"
    )
    assert by_key["ad:ad-1-2"].payload["creative"] == {"creative_id": "{creative:ad-1-2}"}
    assert by_key["media:vid-1"].endpoint.startswith(f"POST /{fx.AD_ACCOUNT_ID}/advideos")


# ---- reporting --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("use_report_run", [False, True])
async def test_daily_metrics_per_level_for_a_delivering_campaign(
    adapter: MetaAdapter,
    sb: Sandbox,
    media_server: MediaServer,
    store: MediaStore,
    sandbox_url: str,
    limiter: RecordingLimiter,
    use_report_run: bool,
) -> None:
    await away_from_midnight(fx.AD_ACCOUNT_TIMEZONE)  # it delivers, then reads "today"
    await sb.switches(impressions_per_second=400.0, report_run_s=0.2)
    ctx = context(sample(media_server), store)
    outcomes = await publish(adapter, ctx)
    await asyncio.sleep(0.3)  # the ads' review
    await adapter.activate(
        ctx, {k: o.external_id for k, o in outcomes.items() if not k.startswith(("media", "creative"))}
    )
    await asyncio.sleep(0.5)  # delivery
    reporting = create_reporting(settings_for(sandbox_url), limiter)
    reporting.run_poll_s = 0.05
    today = datetime.now(ZoneInfo(fx.AD_ACCOUNT_TIMEZONE)).date()
    try:
        rows = await reporting.daily_metrics(
            fx.SYSTEM_USER_TOKEN,
            fx.AD_ACCOUNT_ID,
            outcomes["campaign"].external_id,
            today - timedelta(days=1),
            today,
            use_report_run=use_report_run,
        )
    finally:
        await reporting.close()
    ids = {(r.level, r.external_id) for r in rows}
    expected = {("campaign", outcomes["campaign"].external_id)}
    expected |= {("ad_set", o.external_id) for k, o in outcomes.items() if k.startswith("ad_set:")}
    expected |= {("ad", o.external_id) for k, o in outcomes.items() if k.startswith("ad:")}
    assert ids == expected
    for row in rows:
        assert row.date == today and row.impressions > 0 and row.clicks >= 0
        assert row.spend_micros > 0 and row.spend_micros % 10_000 == 0  # USD cents, exactly
        assert row.spend_micros == round(float(row.raw["spend"]) * 1_000_000)
    insights_calls = [r for r in await sb.requests() if "insights" in r["path"]]
    assert any(r["method"] == "POST" for r in insights_calls) is use_report_run
    assert f"meta:insights:{fx.AD_ACCOUNT_ID}" in limiter.acquired
