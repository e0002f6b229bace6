"""The TikTok adapter against the TikTok sandbox (in process, ephemeral port, demo seed): the whole plan
created in order, exactly the expected objects, lookup by tag (also after a dropped answer), idempotent
delete, activation, video readiness, every fault effect classified, and rules that agree with the
platform. Nothing is mocked: real HTTP to a strict server, real media downloaded from a local server.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from adrelay.engine.media import MediaStore
from adrelay.events.payloads import ErrorCategory
from adrelay.model import Campaign, Platform, TikTokTarget
from adrelay.platforms.base import NotReady, PublishContext, Step, StepKind, StepOutcome
from adrelay.platforms.errors import OutcomeUnknown, PlatformCallError
from adrelay.platforms.http import Limit, Limiter
from adrelay.platforms.settings import PlatformSettings, TikTokSettings
from adrelay.platforms.tiktok import create_adapter, mapper
from adrelay.platforms.tiktok.adapter import TikTokAdapter
from sandbox.common.cli import build
from sandbox.tiktok import settings as tiktok_settings
from sandbox.tiktok.fixtures import (
    ACCESS_TOKEN,
    ADVERTISER_ID,
    APP_ID,
    APP_SECRET,
    IDENTITY_ID,
    PIXEL_ID,
    demo_seed,
)
from tests.support.clock import away_from_midnight
from tests.support.media_server import MediaServer
from tests.support.samples import campaign_dict
from tests.support.tokens import StaticTokens

API = "/open_api/v1.3"
# Applied before every test: the defaults of every switch and limit a test may change, so no test
# inherits another's configuration.
CONFIG: dict[str, Any] = {
    "review_delay_s": 0.2,
    "video_processing_s": 0.0,
    "list_read_lag_ms": 0,
    "switches": dict(tiktok_settings.SWITCHES),
    "rate_limits": {
        **tiktok_settings.RATE_LIMITS,
        "default_qps": 1000,
        "default_qpm": 100_000,
        "ad_create_qps": 1000,
        "ad_create_qpm": 100_000,
        "campaign_get_qps": None,
    },
}


class RecordingLimiter(Limiter):
    """Lets every call through and remembers what the adapter asked for and what it blocked."""

    def __init__(self) -> None:
        self.acquired: list[Limit] = []
        self.blocked: list[tuple[str, float]] = []

    async def acquire(self, platform: Platform, limit: Limit) -> float:
        self.acquired.append(limit)
        return 0.0

    async def block(
        self, platform: Platform, scope: str, seconds: float, usage_pct: float | None = None
    ) -> None:
        self.blocked.append((scope, seconds))


@pytest.fixture(scope="module")
async def sandbox_url() -> AsyncIterator[str]:
    sandbox = build("tiktok", CONFIG)
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


class Control:
    """The sandbox's control API (`/_sandbox/…`), which no real platform serves."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, f"/_sandbox/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def fault(self, **rule: Any) -> None:
        await self.call("POST", "faults", rule)

    async def objects(self, kind: str, *, live_only: bool = False) -> list[dict[str, Any]]:
        rows = (await self.call("GET", f"objects?kind={kind}"))["objects"]
        return [r for r in rows if not (live_only and r["deleted"])]

    async def requests(self, method: str = "POST") -> list[dict[str, Any]]:
        return list((await self.call("GET", f"requests?method={method}"))["requests"])

    async def listed(
        self, level: str, advertiser_id: str = ADVERTISER_ID, token: str = ACCESS_TOKEN
    ) -> dict[str, dict[str, Any]]:
        """The objects of one level as the platform's own GET shows them (deleted ones too), by id."""
        query = {"advertiser_id": advertiser_id, "filtering": json.dumps({"primary_status": "STATUS_ALL"})}
        query["page_size"] = "1000"
        response = await self.http.get(f"{API}/{level}/get/", params=query, headers={"Access-Token": token})
        body = response.json()
        assert body["code"] == 0, body
        return {row[f"{level}_id"]: row for row in body["data"]["list"]}


@pytest.fixture
async def control(sandbox_url: str) -> AsyncIterator[Control]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as http:
        ctl = Control(http)
        await ctl.call("POST", "reset")
        await ctl.call("POST", "config", CONFIG)
        await ctl.call("POST", "seed", demo_seed())
        yield ctl


def settings_for(url: str, timeout_s: float = 10.0) -> PlatformSettings:
    tiktok = TikTokSettings(
        api_url=url, app_id=APP_ID, app_secret=APP_SECRET, app_qps=1000, ad_create_qps=1000
    )
    return PlatformSettings(tiktok=tiktok, http_timeout_s=timeout_s)


@pytest.fixture
async def limiter() -> RecordingLimiter:
    return RecordingLimiter()


@pytest.fixture
async def adapter(
    sandbox_url: str, control: Control, limiter: RecordingLimiter
) -> AsyncIterator[TikTokAdapter]:
    built = create_adapter(settings_for(sandbox_url), limiter)
    assert isinstance(built, TikTokAdapter)
    yield built
    await built.close()


@pytest.fixture
async def media_store(tmp_path: Path) -> AsyncIterator[MediaStore]:
    store = MediaStore(str(tmp_path))
    yield store
    await store.close()


TARGET = TikTokTarget(
    connection_id="conn-tiktok", advertiser_id=ADVERTISER_ID, identity_id=IDENTITY_ID, pixel_id=PIXEL_ID
)


def sample(media_server: MediaServer, **changes: Any) -> Campaign:
    raw = campaign_dict(media_base=media_server.base_url)
    raw.update(changes)
    return Campaign.model_validate(raw)


def context(campaign: Campaign, media_store: MediaStore, token: str = ACCESS_TOKEN) -> PublishContext:
    return PublishContext(
        publish_id=f"pub-{uuid.uuid4().hex[:12]}",
        campaign=campaign,
        target=TARGET,
        tokens=StaticTokens(token),
        media_store=media_store,
    )


async def ready(adapter: TikTokAdapter, step: Step, ctx: PublishContext, outcome: StepOutcome) -> StepOutcome:
    for _ in range(50):
        checked = await adapter.check_ready(step, ctx, outcome)
        if not isinstance(checked, NotReady):
            return checked
        await asyncio.sleep(0.1)
    raise AssertionError(f"{step.key} never became ready")


async def publish(adapter: TikTokAdapter, ctx: PublishContext) -> dict[str, StepOutcome]:
    """What the engine does, minus the journal: every step in plan order (dependencies come first)."""
    for step in adapter.plan(ctx.campaign):
        assert all(dep in ctx.outcomes for dep in step.depends_on), step
        ctx.outcomes[step.key] = await ready(adapter, step, ctx, await adapter.create(step, ctx))
    return ctx.outcomes


def step_of(adapter: TikTokAdapter, campaign: Campaign, key: str) -> Step:
    return next(s for s in adapter.plan(campaign) if s.key == key)


# ---- the whole plan ----------------------------------------------------------------------------------------
async def test_publish_creates_exactly_the_planned_objects(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    outcomes = await publish(adapter, ctx)

    plan = adapter.plan(campaign)
    assert [s.kind for s in plan].count(StepKind.CREATIVE) == 0  # creatives are inline in ads
    campaigns = await control.objects("campaign")
    adgroups = await control.objects("adgroup")
    ads = await control.objects("ad")
    images = await control.objects("image")
    videos = await control.objects("video")
    assert [c["id"] for c in campaigns] == [outcomes["campaign"].external_id]
    assert sorted(a["id"] for a in adgroups) == sorted(
        outcomes[f"ad_set:{s.id}"].external_id for s in campaign.ad_sets
    )
    assert sorted(a["id"] for a in ads) == sorted(
        outcomes[f"ad:{a.id}"].external_id for _, a in campaign.ads()
    )
    assert len(images) == 2 and len(videos) == 1
    assert not any(o["deleted"] for o in campaigns + adgroups + ads)

    camp = (await control.listed("campaign"))[campaigns[0]["id"]]
    assert camp["objective_type"] == "TRAFFIC" and camp["operation_status"] == "DISABLE"
    assert camp["budget_mode"] == "BUDGET_MODE_INFINITE"
    assert camp["campaign_name"].endswith(f"[{ctx.tag('campaign')}]")
    group = (await control.listed("adgroup"))[outcomes["ad_set:as-1"].external_id]
    assert group["budget"] == 50.0 and group["budget_mode"] == "BUDGET_MODE_DAY"
    assert group["location_ids"] == ["6252001"] and group["gender"] == "GENDER_UNLIMITED"
    assert group["age_groups"] == mapper.age_groups(campaign.ad_sets[0].targeting).groups
    assert (group["optimization_goal"], group["billing_event"]) == ("CLICK", "CPC")
    video_ad = (await control.listed("ad"))[outcomes["ad:ad-1-2"].external_id]
    assert video_ad["ad_format"] == "SINGLE_VIDEO"
    assert video_ad["video_id"] == outcomes["media:vid-1"].external_id
    assert video_ad["image_ids"] == [outcomes["media:img-cover"].external_id]
    url = video_ad["landing_page_url"]
    assert url.startswith("https://example.com/coffee?utm_source=tiktok&utm_medium=paid_social")
    assert (
        f"utm_campaign={campaign.id}" in url and "utm_content=ad-1-2" in url and "ttclid=__CLICKID__" in url
    )

    creates = {r["path"]: r["body"] for r in await control.requests() if r["path"].endswith("/create/")}
    assert creates[f"{API}/campaign/create/"]["request_id"].isdigit()
    assert creates[f"{API}/adgroup/create/"]["request_id"].isdigit()
    assert "request_id" not in creates[f"{API}/ad/create/"]
    ad_create = [limit.scope for limit in adapter.client.limits.for_path("/ad/create/")]
    assert ad_create == [f"tiktok:app:{APP_ID}", f"tiktok:endpoint:{APP_ID}:/ad/create/"]


async def test_preview_lists_every_object_with_the_payload_that_is_sent(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    planned = adapter.preview(campaign, TARGET, ctx.publish_id)
    assert [p.step_key for p in planned] == [s.key for s in adapter.plan(campaign)]
    await publish(adapter, ctx)
    sent = {r["path"]: r["body"] for r in await control.requests() if r["path"].endswith("/campaign/create/")}
    by_key = {p.step_key: p for p in planned}
    assert by_key["campaign"].endpoint == "POST /campaign/create/"
    assert by_key["campaign"].payload == sent[f"{API}/campaign/create/"]
    assert by_key["ad_set:as-2"].payload["campaign_id"] == "{campaign}"
    assert by_key["ad:ad-2-2"].payload["creatives"][0]["video_id"] == "{media:vid-1}"
    assert by_key["media:img-1"].payload["file_name"] == f"{ctx.tag('media:img-1')}.png"


# ---- lookup by tag ----------------------------------------------------------------------------------------
async def test_lookup_finds_every_created_object_by_its_tag(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    outcomes = dict(await publish(adapter, ctx))
    for step in adapter.plan(campaign):
        found = await adapter.lookup(step, ctx)
        assert found is not None, step.key
        assert found.external_id == outcomes[step.key].external_id, step.key


async def test_lookup_of_a_never_created_step_is_none(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    first = context(campaign, media_store)
    await publish(adapter, first)
    other = context(campaign, media_store)  # another publish: other tags, same parents for the children
    other.outcomes.update(
        {k: v for k, v in first.outcomes.items() if k == "campaign" or k.startswith("ad_set:")}
    )
    await control.call("DELETE", "requests")
    for key in ("campaign", "ad_set:as-1", "ad:ad-1-1", "media:img-1", "media:vid-1"):
        assert await adapter.lookup(step_of(adapter, campaign, key), other) is None, key
    searched = [
        json.loads(r["query"]["filtering"]).get("campaign_name")
        for r in await control.requests("GET")
        if r["path"].endswith("/campaign/get/")
    ]
    # By the tag, then by the whole expected name (robust to any reading of TikTok's "fuzzy" match).
    assert searched == [other.tag("campaign"), mapper.object_name(campaign.name, other.tag("campaign"))]


async def test_lookup_counts_a_deleted_object_as_found(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    step = step_of(adapter, campaign, "campaign")
    created = await adapter.create(step, ctx)
    await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    found = await adapter.lookup(step, ctx)
    assert found is not None and found.external_id == created.external_id and found.data["deleted"] is True


@pytest.mark.parametrize(
    "key, path",
    [
        ("campaign", "/campaign/create/"),
        ("ad_set:as-1", "/adgroup/create/"),
        ("ad:ad-1-2", "/ad/create/"),
        ("media:img-1", "/file/image/ad/upload/"),
        ("media:vid-1", "/file/video/ad/upload/"),
    ],
)
async def test_after_a_dropped_answer_the_write_happened_and_lookup_finds_it(
    key: str,
    path: str,
    adapter: TikTokAdapter,
    control: Control,
    media_server: MediaServer,
    media_store: MediaStore,
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    target = step_of(adapter, campaign, key)
    plan = adapter.plan(campaign)
    needed = dependencies(plan, target)
    for step in plan:  # the target's dependencies, in plan order
        if step.key in needed:
            ctx.outcomes[step.key] = await ready(adapter, step, ctx, await adapter.create(step, ctx))
    kind = target.kind
    before = len(await control.objects(_sandbox_kind(key)))
    await control.fault(effect="drop_after_apply", method="POST", path=f"{path}$", count=1)
    with pytest.raises(OutcomeUnknown):
        await adapter.create(target, ctx)
    found = await adapter.lookup(target, ctx)
    assert found is not None, f"{kind}: the dropped write is not found"
    after = await control.objects(_sandbox_kind(key))
    assert len(after) == before + 1 and found.external_id in {o["id"] for o in after}


def dependencies(plan: list[Step], target: Step) -> set[str]:
    by_key = {s.key: s for s in plan}
    needed: set[str] = set()
    todo = list(target.depends_on)
    while todo:
        key = todo.pop()
        if key not in needed:
            needed.add(key)
            todo.extend(by_key[key].depends_on)
    return needed


def _sandbox_kind(key: str) -> str:
    prefix = key.split(":")[0]
    if prefix == "media":
        return "video" if key.startswith("media:vid") else "image"
    return {"campaign": "campaign", "ad_set": "adgroup", "ad": "ad"}[prefix]


async def test_a_retry_within_the_request_id_window_returns_the_first_campaign(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    step = step_of(adapter, campaign, "campaign")
    first = await adapter.create(step, ctx)
    second = await adapter.create(step, ctx)  # same request_id → 40050 → found by tag
    assert second.external_id == first.external_id
    assert len(await control.objects("campaign")) == 1


async def test_a_second_upload_under_the_same_name_resolves_to_the_first_file(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    for key in ("media:img-1", "media:vid-1"):
        step = step_of(adapter, campaign, key)
        first = await adapter.create(step, ctx)
        second = await adapter.create(step, ctx)  # 40911 duplicated material name → resolved by name
        assert second.external_id == first.external_id
    assert len(await control.objects("image")) == 1 and len(await control.objects("video")) == 1


async def test_two_objects_with_one_tag_are_a_conflict_not_a_guess(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    from adrelay.platforms.errors import LookupIncomplete

    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    step = step_of(adapter, campaign, "campaign")
    await adapter.create(step, ctx)
    await control.call("POST", "config", {"switches": {"request_id_window_s": 0}})
    await adapter.create(step, ctx)  # outside the window TikTok creates again
    with pytest.raises(LookupIncomplete):
        await adapter.lookup(step, ctx)


# ---- delete, activate, readiness -------------------------------------------------------------------------
async def test_delete_is_idempotent_and_leaves_no_live_object(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    outcomes = await publish(adapter, ctx)
    order = [StepKind.AD, StepKind.AD_SET, StepKind.CAMPAIGN]
    steps = sorted(adapter.plan(campaign), key=lambda s: order.index(s.kind) if s.kind in order else -1)
    for _ in range(2):  # the second round deletes what is already deleted
        for step in steps:
            if adapter.deletes(step.kind):
                await adapter.delete(step.kind, outcomes[step.key].external_id, ctx)
    await adapter.delete(StepKind.CAMPAIGN, "1799999999999999999", ctx)  # never existed
    for kind in ("campaign", "adgroup", "ad"):
        assert await control.objects(kind, live_only=True) == [], kind
    assert len(await control.objects("image", live_only=True)) == 2  # media are kept
    assert not adapter.deletes(StepKind.MEDIA) and not adapter.deletes(StepKind.CREATIVE)


async def test_deleting_a_campaign_first_still_deletes_children_idempotently(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    outcomes = await publish(adapter, ctx)
    await adapter.delete(StepKind.CAMPAIGN, outcomes["campaign"].external_id, ctx)
    await adapter.delete(StepKind.AD, outcomes["ad:ad-1-1"].external_id, ctx)  # already deleted with it
    await adapter.delete(StepKind.AD_SET, outcomes["ad_set:as-1"].external_id, ctx)
    for kind in ("campaign", "adgroup", "ad"):
        assert await control.objects(kind, live_only=True) == [], kind


async def test_activate_enables_campaign_ad_groups_and_ads(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    outcomes = await publish(adapter, ctx)
    objects = {key: o.external_id for key, o in outcomes.items()}
    await adapter.activate(ctx, objects)
    await adapter.activate(ctx, objects)  # idempotent
    for kind in ("campaign", "adgroup", "ad"):
        rows = list((await control.listed(kind)).values())
        assert rows and all(r["operation_status"] == "ENABLE" for r in rows), kind
    statuses = [
        r["path"].split("/")[-4] for r in await control.requests() if r["path"].endswith("/status/update/")
    ]
    assert statuses[:3] == ["ad", "adgroup", "campaign"]  # the campaign switches the tree on last


async def test_a_video_is_not_ready_until_tiktok_has_processed_it(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    await control.call("POST", "config", {"video_processing_s": 0.6})
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    step = step_of(adapter, campaign, "media:vid-1")
    uploaded = await adapter.create(step, ctx)
    first = await adapter.check_ready(step, ctx, uploaded)
    assert isinstance(first, NotReady) and first.retry_after_s > 0
    await asyncio.sleep(0.7)
    done = await adapter.check_ready(step, ctx, uploaded)
    assert isinstance(done, StepOutcome) and done.external_id == uploaded.external_id
    image_step = step_of(adapter, campaign, "media:img-1")
    image = await adapter.create(image_step, ctx)
    assert await adapter.check_ready(image_step, ctx, image) == image


# ---- faults -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "effect, params, category, code, retryable",
    [
        ("expired_token", {}, ErrorCategory.AUTH, "40102", False),
        ("invalid_token", {}, ErrorCategory.AUTH, "40105", False),
        ("permission", {}, ErrorCategory.PERMISSION, "40001", False),
        ("rate_limit", {}, ErrorCategory.RATE_LIMIT, "40100", True),
        ("rate_limit", {"scope": "advertiser"}, ErrorCategory.RATE_LIMIT, "40133", True),
        ("transient", {}, ErrorCategory.TRANSIENT, "50000", True),
        ("transient", {"http_status": 503}, ErrorCategory.TRANSIENT, "50000", True),
        ("budget_too_low", {}, ErrorCategory.BUDGET, "40002", False),
        ("not_found", {}, ErrorCategory.VALIDATION, "40007", False),
        ("validation", {}, ErrorCategory.VALIDATION, "40002", False),
        ("deprecated_version", {}, ErrorCategory.VALIDATION, "40006", False),
    ],
)
async def test_each_fault_effect_is_classified(
    effect: str,
    params: dict[str, Any],
    category: ErrorCategory,
    code: str,
    retryable: bool,
    adapter: TikTokAdapter,
    control: Control,
    limiter: RecordingLimiter,
    media_server: MediaServer,
    media_store: MediaStore,
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    await control.fault(effect=effect, method="POST", path="/campaign/create/$", count=1, params=params)
    with pytest.raises(PlatformCallError) as caught:
        await adapter.create(step_of(adapter, campaign, "campaign"), ctx)
    error = caught.value
    assert (error.category, error.error.platform_code, error.retryable) == (category, code, retryable)
    assert error.error.trace_id  # TikTok's request_id, for support tickets
    if category is ErrorCategory.RATE_LIMIT:
        assert error.retry_after_s == 1.0
        assert (f"tiktok:app:{APP_ID}", 1.0) in limiter.blocked
    if category is ErrorCategory.BUDGET:
        assert error.error.minimum_budget == "50.00 USD" and error.error.blamed_fields == ["budget"]
    assert await control.objects("campaign") == []


async def test_a_disapproved_ad_is_created_and_waits_for_review(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    """Policy rejection is no error code on TikTok: the ad is created and fails review later."""
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    await control.fault(effect="disapprove", method="POST", path="/ad/create/$")
    outcomes = await publish(adapter, ctx)
    assert outcomes["ad:ad-1-1"].data["need_audit"] is True


async def test_an_unanswered_read_is_transient_and_an_unanswered_write_is_unknown(
    sandbox_url: str, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    slow = TikTokAdapter(settings_for(sandbox_url, timeout_s=0.3), Limiter())
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    step = step_of(slow, campaign, "campaign")
    await control.fault(effect="latency", latency_ms=1500, path="/campaign/")
    try:
        with pytest.raises(OutcomeUnknown):
            await slow.create(step, ctx)
        with pytest.raises(PlatformCallError) as caught:
            await slow.lookup(step, ctx)
        assert caught.value.category is ErrorCategory.TRANSIENT and caught.value.retryable
    finally:
        await slow.close()


async def test_a_wrong_token_is_auth_and_the_sandbox_rate_limit_is_rate_limit(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    wrong = context(campaign, media_store, token="not-a-token")
    with pytest.raises(PlatformCallError) as caught:
        await adapter.create(step_of(adapter, campaign, "campaign"), wrong)
    assert caught.value.category is ErrorCategory.AUTH and caught.value.error.platform_code == "40105"

    await control.call("POST", "config", {"rate_limits": {"campaign_get_qps": 1}})
    ctx = context(campaign, media_store)
    step = step_of(adapter, campaign, "campaign")
    with pytest.raises(PlatformCallError) as throttled:
        for _ in range(3):
            await adapter.lookup(step, ctx)
    assert throttled.value.category is ErrorCategory.RATE_LIMIT and throttled.value.retryable


# ---- rules agree with the platform --------------------------------------------------------------------------
async def test_rules_catch_what_the_platform_refuses(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    raw = campaign_dict(media_base=media_server.base_url)
    raw["ad_sets"][0]["budget"]["amount"]["amount_minor"] = 1000  # 10 USD < 20 USD ad group minimum
    raw["ad_sets"][1]["ads"][0]["creative"]["primary_text"] = "x" * 101
    campaign = Campaign.model_validate(raw)
    issues = adapter.validate(campaign, TARGET, None)
    errors = {i.path for i in issues if i.severity == "error"}
    assert errors == {"ad_sets[0].budget.amount", "ad_sets[1].ads[0].creative.primary_text"}

    ctx = context(campaign, media_store)
    await publish_until(adapter, ctx, "ad_set:as-1")
    with pytest.raises(PlatformCallError) as budget:
        await adapter.create(step_of(adapter, campaign, "ad_set:as-1"), ctx)
    assert budget.value.category is ErrorCategory.BUDGET and budget.value.error.minimum_budget == "20.00 USD"
    ctx.outcomes["ad_set:as-2"] = await adapter.create(step_of(adapter, campaign, "ad_set:as-2"), ctx)
    with pytest.raises(PlatformCallError) as text:
        await adapter.create(step_of(adapter, campaign, "ad:ad-2-1"), ctx)
    assert text.value.category is ErrorCategory.VALIDATION
    assert text.value.error.blamed_fields == ["creatives.0.ad_text"]


async def publish_until(adapter: TikTokAdapter, ctx: PublishContext, stop_key: str) -> None:
    for step in adapter.plan(ctx.campaign):
        if step.key == stop_key:
            return
        ctx.outcomes[step.key] = await ready(adapter, step, ctx, await adapter.create(step, ctx))


async def test_campaign_budget_in_jpy_is_sent_in_whole_yen(
    sandbox_url: str, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    yen_advertiser = "7300000000000000999"
    await control.call(
        "POST",
        "seed",
        {
            "advertisers": [
                {"advertiser_id": yen_advertiser, "name": "yen", "currency": "JPY", "timezone": "Asia/Tokyo"}
            ],
            "tokens": [
                {"access_token": "tt-yen-token", "app_id": APP_ID, "advertiser_ids": [yen_advertiser]}
            ],
            "identities": [
                {
                    "identity_id": "7300000000000000998",
                    "identity_type": "CUSTOMIZED_USER",
                    "advertiser_id": yen_advertiser,
                }
            ],
        },
    )
    raw = campaign_dict(media_base=media_server.base_url, currency="JPY")
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": "daily", "amount": {"amount_minor": 6000, "currency": "JPY"}}
    for ad_set in raw["ad_sets"]:
        ad_set.pop("budget")
    campaign = Campaign.model_validate(raw)
    target = TikTokTarget(connection_id="c", advertiser_id=yen_advertiser, identity_id="7300000000000000998")
    adapter = TikTokAdapter(settings_for(sandbox_url), Limiter())
    ctx = PublishContext("pub-yen", campaign, target, StaticTokens("tt-yen-token"), media_store)
    try:
        assert [i for i in adapter.validate(campaign, target, None) if i.severity == "error"] == []
        outcome = await adapter.create(step_of(adapter, campaign, "campaign"), ctx)
        ctx.outcomes["campaign"] = outcome
        await adapter.create(step_of(adapter, campaign, "ad_set:as-1"), ctx)
    finally:
        await adapter.close()
    (fields,) = (await control.listed("campaign", yen_advertiser, "tt-yen-token")).values()
    assert (fields["budget"], fields["budget_mode"], fields["budget_optimize_on"]) == (
        6000,
        "BUDGET_MODE_DAY",
        True,
    )
    sent = [r["body"] for r in await control.requests() if r["path"].endswith("/campaign/create/")][-1]
    assert sent["budget"] == 6000 and isinstance(sent["budget"], int)


# ---- reporting ------------------------------------------------------------------------------------------------
async def test_daily_metrics_per_level_sync_and_by_task_agree(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from sandbox.tiktok.fixtures import ADVERTISER_TIMEZONE

    await away_from_midnight(ADVERTISER_TIMEZONE)  # it delivers, then reads "today"
    await control.call("POST", "config", {"switches": {"metrics_rate": 200.0, "report_task_delay_s": 0.2}})
    now = datetime.now(UTC).replace(microsecond=0)
    schedule = {
        "start_time": (now - timedelta(minutes=5)).isoformat(),
        "end_time": (now + timedelta(days=2)).isoformat(),
    }
    campaign = sample(media_server, schedule=schedule)
    ctx = context(campaign, media_store)
    outcomes = await publish(adapter, ctx)
    await adapter.activate(ctx, {k: o.external_id for k, o in outcomes.items()})
    await asyncio.sleep(1.5)  # review (0.2 s), then delivery
    await adapter.delete(StepKind.CAMPAIGN, outcomes["campaign"].external_id, ctx)  # freezes the totals

    today = datetime.now(ZoneInfo(ADVERTISER_TIMEZONE)).date()
    token = await ctx.tokens.access_token()
    campaign_id = outcomes["campaign"].external_id
    rows = await adapter.reporting.daily_metrics(
        token, ADVERTISER_ID, campaign_id, today - timedelta(days=1), today
    )
    by_task = await adapter.reporting.daily_metrics(
        token, ADVERTISER_ID, campaign_id, today - timedelta(days=1), today, use_task=True
    )
    assert sorted((r.level, r.external_id, r.impressions, r.spend_micros) for r in rows) == sorted(
        (r.level, r.external_id, r.impressions, r.spend_micros) for r in by_task
    )
    by_level = {level: [r for r in rows if r.level == level] for level in ("campaign", "ad_set", "ad")}
    assert [r.external_id for r in by_level["campaign"]] == [campaign_id]
    assert {r.external_id for r in by_level["ad_set"]} == {
        outcomes[f"ad_set:{s.id}"].external_id for s in campaign.ad_sets
    }
    assert {r.external_id for r in by_level["ad"]} == {
        outcomes[f"ad:{a.id}"].external_id for _, a in campaign.ads()
    }
    (total,) = by_level["campaign"]
    assert total.date == today and total.impressions > 0 and total.spend_micros > 0
    assert total.impressions == sum(r.impressions for r in by_level["ad"])
    assert total.spend_micros == sum(r.spend_micros for r in by_level["ad"])
    for row in rows:
        assert row.spend_micros == int(Decimal(row.raw["metrics"]["spend"]) * 1_000_000)


async def test_a_refused_delete_fails_while_the_object_lives_and_passes_once_it_is_gone(
    adapter: TikTokAdapter, control: Control, media_server: MediaServer, media_store: MediaStore
) -> None:
    campaign = sample(media_server)
    ctx = context(campaign, media_store)
    created = await adapter.create(step_of(adapter, campaign, "campaign"), ctx)
    await control.fault(effect="permission", method="POST", path="/campaign/status/update/$", count=1)
    with pytest.raises(PlatformCallError) as caught:
        await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    assert caught.value.category is ErrorCategory.PERMISSION
    await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    await control.fault(effect="permission", method="POST", path="/campaign/status/update/$", count=1)
    await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)  # refused, but it is gone: fine
    await control.fault(effect="transient", method="POST", path="/campaign/status/update/$", count=1)
    with pytest.raises(PlatformCallError) as transient:  # says nothing about the object: the engine retries
        await adapter.delete(StepKind.CAMPAIGN, created.external_id, ctx)
    assert transient.value.retryable
