"""Snapchat mapper: money in exact integer micros per currency, objectives, targeting, times, payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio

from adrelay.model import Campaign, Money, Objective, SnapchatTarget
from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.snapchat import create_adapter, mapper
from adrelay.platforms.snapchat.adapter import SnapchatAdapter
from adrelay.platforms.snapchat.mapper import Unmappable
from tests.support import samples

ACCOUNT = "9c8b7a6d-5e4f-4a3b-b2c1-d0e9f8a7b6c5"
PROFILE = "3f4e5d6c-7b8a-4a9b-8c0d-1e2f3a4b5c6d"
PIXEL = "11111111-2222-4333-8444-555555555555"
TAG = "ar0123456789abcd"
BRAND = SnapchatTarget(connection_id="conn-snap", ad_account_id=ACCOUNT, brand_name="Coffee Co")


@pytest_asyncio.fixture
async def adapter() -> AsyncIterator[SnapchatAdapter]:
    """A real adapter on the default (real) hosts; planning and preview make no call."""
    made = create_adapter(PlatformSettings(), Limiter())
    yield made
    await made.close()


def campaign(**changes: Any) -> Campaign:
    """The sample campaign with Snap-sized media and a fixed schedule, changed as given."""
    raw = samples.campaign_dict(campaign_id="cmp-snap-1")
    raw["media"][0].update(height=1920)
    raw["schedule"] = {
        "start_time": "2026-03-01T09:30:00+01:00",
        "end_time": "2026-03-31T23:00:00+02:00",
        "timezone": "Europe/Berlin",
    }
    for key, value in changes.items():
        raw[key] = value
    return Campaign.model_validate(raw)


def ad_set_changes(c: Campaign, **changes: Any) -> Campaign:
    raw = json.loads(c.model_dump_json())
    raw["ad_sets"][0].update(changes)
    return Campaign.model_validate(raw)


# ---- money --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("12.34", "USD", 12_340_000),
        ("500", "JPY", 500_000_000),
        ("1.234", "KWD", 1_234_000),
        ("0.01", "EUR", 10_000),
        ("5", "USD", 5_000_000),
        ("99999999.99", "USD", 99_999_999_990_000),
        ("1500", "KRW", 1_500_000_000),
        ("0.001", "BHD", 1_000),
    ],
)
def test_micros_are_exact_integers_per_currency(amount: str, currency: str, expected: int) -> None:
    micros = mapper.micros(Money.of(amount, currency))
    assert micros == expected
    assert type(micros) is int


def test_budget_payloads_carry_json_integers_never_floats() -> None:
    c = campaign()
    c = ad_set_changes(c, budget={"period": "daily", "amount": {"amount_minor": 1234, "currency": "USD"}})
    squad = mapper.ad_squad_payload(c, 0, BRAND, "{campaign}", TAG)
    assert squad["daily_budget_micro"] == 12_340_000
    assert "lifetime_budget_micro" not in squad
    assert '"daily_budget_micro": 12340000' in json.dumps(squad)
    assert "." not in json.dumps(squad["daily_budget_micro"])


def test_jpy_ad_set_budget_is_yen_times_a_million() -> None:
    raw = samples.campaign_dict(campaign_id="cmp-jpy", currency="JPY")
    raw["media"][0].update(height=1920)
    for ad_set in raw["ad_sets"]:
        ad_set["budget"] = {"period": "daily", "amount": {"amount_minor": 500, "currency": "JPY"}}
    c = Campaign.model_validate(raw)
    assert mapper.ad_squad_payload(c, 0, BRAND, "{campaign}", TAG)["daily_budget_micro"] == 500_000_000


def test_campaign_budget_goes_to_the_campaign_cap_and_to_every_ad_squad() -> None:
    raw = json.loads(campaign().model_dump_json())
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": "daily", "amount": {"amount_minor": 2500, "currency": "USD"}}
    for ad_set in raw["ad_sets"]:
        ad_set["budget"] = None
    c = Campaign.model_validate(raw)
    payload = mapper.campaign_payload(c, BRAND, TAG)
    assert payload["daily_budget_micro"] == 25_000_000
    assert "lifetime_spend_cap_micro" not in payload
    for index in range(len(c.ad_sets)):
        assert mapper.ad_squad_payload(c, index, BRAND, "{campaign}", TAG)["daily_budget_micro"] == 25_000_000


def test_lifetime_campaign_budget_is_a_lifetime_spend_cap() -> None:
    raw = json.loads(campaign().model_dump_json())
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": "lifetime", "amount": {"amount_minor": 100_000, "currency": "USD"}}
    for ad_set in raw["ad_sets"]:
        ad_set["budget"] = None
    c = Campaign.model_validate(raw)
    assert mapper.campaign_payload(c, BRAND, TAG)["lifetime_spend_cap_micro"] == 1_000_000_000
    assert mapper.ad_squad_payload(c, 1, BRAND, "{campaign}", TAG)["lifetime_budget_micro"] == 1_000_000_000


def test_ad_set_budget_campaign_has_no_campaign_money() -> None:
    payload = mapper.campaign_payload(campaign(), BRAND, TAG)
    assert not any(key.endswith("_micro") for key in payload)


# ---- objectives and goals -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("objective", "v2", "default_goal"),
    [
        ("awareness", "AWARENESS_AND_ENGAGEMENT", "IMPRESSIONS"),
        ("engagement", "AWARENESS_AND_ENGAGEMENT", "IMPRESSIONS"),
        ("video_views", "AWARENESS_AND_ENGAGEMENT", "VIDEO_VIEWS"),
        ("traffic", "TRAFFIC", "SWIPES"),
        ("sales", "SALES", "PIXEL_PURCHASE"),
        ("leads", "LEADS", "PIXEL_SIGNUP"),
    ],
)
def test_objective_maps_to_objective_v2_and_a_default_goal(
    objective: str, v2: str, default_goal: str
) -> None:
    c = campaign(objective=objective)
    target = BRAND.model_copy(update={"pixel_id": PIXEL})
    payload = mapper.campaign_payload(c, target, TAG)
    assert payload["objective_v2_properties"] == {"objective_v2_type": v2}
    assert "objective" not in payload  # the legacy field is refused for new campaigns
    squad = mapper.ad_squad_payload(c, 0, target, "{campaign}", TAG)
    assert squad["optimization_goal"] == default_goal
    assert ("pixel_id" in squad) is default_goal.startswith("PIXEL_")


def test_app_promotion_cannot_be_mapped() -> None:
    with pytest.raises(Unmappable) as caught:
        mapper.campaign_payload(campaign(objective="app_promotion"), BRAND, TAG)
    assert caught.value.path == "objective"


@pytest.mark.parametrize(
    ("objective", "goal", "event", "expected"),
    [
        ("traffic", "link_clicks", None, "SWIPES"),
        ("traffic", "landing_page_views", None, "LANDING_PAGE_VIEW"),
        ("awareness", "reach", None, "IMPRESSIONS"),
        ("video_views", "video_views", None, "VIDEO_VIEWS"),
        ("sales", "conversions", "add_to_cart", "PIXEL_ADD_TO_CART"),
        ("sales", "conversions", None, "PIXEL_PURCHASE"),
        ("sales", "landing_page_views", None, "LANDING_PAGE_VIEW"),
        ("leads", "conversions", "complete_registration", "PIXEL_SIGNUP"),
    ],
)
def test_optimization_goal_mapping(objective: str, goal: str, event: str | None, expected: str) -> None:
    c = ad_set_changes(campaign(objective=objective), optimization_goal=goal, conversion_event=event)
    assert mapper.optimization_goal(c, 0, c.ad_sets[0]) == expected


@pytest.mark.parametrize(
    ("objective", "goal", "event"),
    [
        ("traffic", "impressions", None),  # not eligible for TRAFFIC
        ("awareness", "link_clicks", None),  # not eligible for AWARENESS_AND_ENGAGEMENT
        ("sales", "conversions", "initiate_checkout"),  # no pixel goal for it
        ("traffic", "app_installs", None),
    ],
)
def test_ineligible_goals_are_unmappable_with_the_ad_set_path(
    objective: str, goal: str, event: str | None
) -> None:
    c = ad_set_changes(campaign(objective=objective), optimization_goal=goal, conversion_event=event)
    with pytest.raises(Unmappable) as caught:
        mapper.optimization_goal(c, 0, c.ad_sets[0])
    assert caught.value.path == "ad_sets[0].optimization_goal"


def test_pixel_goal_without_pixel_is_unmappable() -> None:
    with pytest.raises(Unmappable) as caught:
        mapper.ad_squad_payload(campaign(objective="sales"), 0, BRAND, "{campaign}", TAG)
    assert caught.value.path == "targets.snapchat.pixel_id"


@pytest.mark.parametrize(
    ("strategy", "bid", "snap", "bid_micro"),
    [
        ("lowest_cost", None, "AUTO_BID", None),
        ("bid_cap", {"amount_minor": 250, "currency": "USD"}, "LOWEST_COST_WITH_MAX_BID", 2_500_000),
        ("cost_cap", {"amount_minor": 99, "currency": "USD"}, "TARGET_COST", 990_000),
    ],
)
def test_bid_strategy_and_bid_micro_only_with_a_cap(
    strategy: str, bid: dict[str, Any] | None, snap: str, bid_micro: int | None
) -> None:
    c = ad_set_changes(campaign(), bid_strategy=strategy, bid_amount=bid)
    squad = mapper.ad_squad_payload(c, 0, BRAND, "{campaign}", TAG)
    assert squad["bid_strategy"] == snap
    assert squad.get("bid_micro") == bid_micro


# ---- targeting ----------------------------------------------------------------------------------
def test_targeting_uses_lowercase_country_codes_and_one_demographics_entry() -> None:
    c = ad_set_changes(
        campaign(),
        targeting={
            "countries": ["US", "GB", "DE"],
            "age_min": 21,
            "age_max": 34,
            "genders": ["female"],
            "languages": ["en"],
        },
    )
    spec = mapper.ad_squad_payload(c, 0, BRAND, "{campaign}", TAG)["targeting"]
    assert spec["geos"] == [{"country_code": "us"}, {"country_code": "gb"}, {"country_code": "de"}]
    assert spec["demographics"] == [{"min_age": 21, "max_age": 34, "gender": "FEMALE", "languages": ["en"]}]


def test_targeting_both_genders_and_ages_fifty_plus_send_no_gender_and_no_max_age() -> None:
    c = ad_set_changes(
        campaign(),
        targeting={"countries": ["FR"], "age_min": 18, "age_max": 65, "genders": ["male", "female"]},
    )
    spec = mapper.ad_squad_payload(c, 0, BRAND, "{campaign}", TAG)["targeting"]
    assert spec["demographics"] == [{"min_age": 18}]


def test_targeting_min_age_above_fifty_is_unmappable() -> None:
    c = ad_set_changes(campaign(), targeting={"countries": ["FR"], "age_min": 55, "age_max": 65})
    with pytest.raises(Unmappable) as caught:
        mapper.targeting(c.ad_sets[0].targeting, "ad_sets[0].targeting")
    assert caught.value.path == "ad_sets[0].targeting.age_min"


# ---- times, names, payload shapes ---------------------------------------------------------------
def test_times_are_utc_with_milliseconds_and_absent_end_time_is_omitted() -> None:
    payload = mapper.campaign_payload(campaign(), BRAND, TAG)
    assert payload["start_time"] == "2026-03-01T08:30:00.000Z"
    assert payload["end_time"] == "2026-03-31T21:00:00.000Z"
    open_ended = campaign(schedule={"start_time": "2026-03-01T09:30:00.250+01:00", "timezone": "UTC"})
    payload = mapper.campaign_payload(open_ended, BRAND, TAG)
    assert payload["start_time"] == "2026-03-01T08:30:00.250Z"
    assert "end_time" not in payload
    assert "end_time" not in mapper.ad_squad_payload(open_ended, 0, BRAND, "{campaign}", TAG)


def test_campaign_is_created_paused_with_the_tag_in_its_name() -> None:
    payload = mapper.campaign_payload(campaign(), BRAND, TAG)
    assert payload["status"] == "PAUSED"
    assert payload["ad_account_id"] == ACCOUNT
    assert payload["name"].endswith(f" [{TAG}]")
    long = campaign(name="x" * 400)
    name = mapper.campaign_payload(long, BRAND, TAG)["name"]
    assert len(name) == mapper.NAME_MAX and name.endswith(f"[{TAG}]")


def test_ad_squad_payload_shape() -> None:
    squad = mapper.ad_squad_payload(campaign(), 1, BRAND, "cid-1", TAG)
    assert squad["campaign_id"] == "cid-1"
    assert squad["type"] == "SNAP_ADS"
    assert squad["status"] == "PAUSED"
    assert squad["billing_event"] == "IMPRESSION"
    assert squad["placement_v2"] == {"config": "AUTOMATIC"}
    assert squad["name"] == f"Ad set 2 [{TAG}]"


def test_creative_is_a_web_view_with_tracked_url_and_mapped_call_to_action() -> None:
    c = campaign(utm_parameters={"utm_medium": "snap_paid", "promo": "spring"})
    raw = json.loads(c.model_dump_json())
    raw["ad_sets"][0]["ads"][0]["creative"]["landing_url"] = (
        "https://example.com/coffee?ref=abc&utm_source=news"
    )
    c = Campaign.model_validate(raw)
    ad = c.ad_sets[0].ads[0]
    payload = mapper.creative_payload(c, ad, BRAND, "media-1", TAG)
    assert payload["type"] == "WEB_VIEW"
    assert payload["call_to_action"] == "SHOP_NOW"
    assert payload["brand_name"] == "Coffee Co"
    assert "profile_properties" not in payload
    assert payload["top_snap_media_id"] == "media-1"
    assert payload["headline"] == "Try it today"
    url = payload["web_view_properties"]["url"]
    assert url.startswith("https://example.com/coffee?ref=abc&utm_source=news&")
    query = parse_qs(urlsplit(url).query)
    assert query["utm_source"] == ["news"]  # the landing URL's own parameter wins
    assert query["utm_medium"] == ["snap_paid"]  # the campaign's own UTM wins over the default
    assert query["utm_campaign"] == ["cmp-snap-1"]
    assert query["utm_content"] == [ad.id]
    assert query["promo"] == ["spring"]


def test_creative_with_public_profile_sends_the_profile_instead_of_a_brand_name() -> None:
    target = SnapchatTarget(connection_id="conn-snap", ad_account_id=ACCOUNT, profile_id=PROFILE)
    c = campaign()
    payload = mapper.creative_payload(c, c.ad_sets[0].ads[0], target, "media-1", TAG)
    assert payload["profile_properties"] == {"profile_id": PROFILE}
    assert "brand_name" not in payload


@pytest.mark.parametrize(
    ("ours", "snap"),
    [("learn_more", "MORE"), ("sign_up", "SIGN_UP"), ("book_now", "BOOK_NOW"), ("watch_more", "WATCH")],
)
def test_call_to_action_mapping(ours: str, snap: str) -> None:
    raw = json.loads(campaign().model_dump_json())
    raw["ad_sets"][0]["ads"][0]["creative"]["call_to_action"] = ours
    c = Campaign.model_validate(raw)
    assert mapper.creative_payload(c, c.ad_sets[0].ads[0], BRAND, "m", TAG)["call_to_action"] == snap


def test_ad_payload_is_a_paused_remote_webpage() -> None:
    c = campaign()
    ad = c.ad_sets[0].ads[0]
    assert mapper.ad_payload(ad, "squad-1", "creative-1", TAG) == {
        "ad_squad_id": "squad-1",
        "creative_id": "creative-1",
        "name": f"Ad 1.1 [{TAG}]",
        "type": "REMOTE_WEBPAGE",
        "status": "PAUSED",
    }


def test_media_payload() -> None:
    c = campaign()
    video = c.media_by_id()["vid-1"]
    assert mapper.media_payload(video, BRAND, TAG) == {
        "name": f"vid-1 [{TAG}]",
        "type": "VIDEO",
        "ad_account_id": ACCOUNT,
    }


def test_plan_skips_video_covers_snap_does_not_use(adapter: SnapchatAdapter) -> None:
    plan = adapter.plan(campaign())
    keys = [s.key for s in plan]
    assert "media:img-cover" not in keys
    assert {"media:img-1", "media:vid-1", "campaign"} <= set(keys)
    for step in plan:
        assert "media:img-cover" not in step.depends_on
    creative = next(s for s in plan if s.key == "creative:ad-1-2")
    assert creative.depends_on == ("media:vid-1",)


def test_preview_lists_every_object_with_placeholders(adapter: SnapchatAdapter) -> None:
    c = campaign()
    planned = adapter.preview(c, BRAND, "pub-1")
    assert [p.step_key for p in planned] == [s.key for s in adapter.plan(c)]
    by_key = {p.step_key: p for p in planned}
    assert by_key["ad_set:as-1"].payload["adsquads"][0]["campaign_id"] == "{campaign}"
    assert by_key["ad_set:as-1"].endpoint == "POST /campaigns/{campaign_id}/adsquads"
    creative = by_key["creative:ad-1-2"].payload["creatives"][0]
    assert creative["top_snap_media_id"] == "{media:vid-1}"
    ad = by_key["ad:ad-2-1"].payload["ads"][0]
    assert (ad["ad_squad_id"], ad["creative_id"]) == ("{ad_set:as-2}", "{creative:ad-2-1}")
    assert by_key["media:img-1"].payload["media"][0]["type"] == "IMAGE"
    assert (
        by_key["campaign"].payload["campaigns"][0]["objective_v2_properties"]["objective_v2_type"]
        == "TRAFFIC"
    )


def test_objective_enum_is_fully_covered() -> None:
    assert set(mapper.OBJECTIVE_V2) == set(Objective)
