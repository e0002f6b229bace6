"""The TikTok mapper: objectives, money in major units per currency, flat targeting, times, names, ads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from adrelay.model import Campaign, Money, Objective, TikTokTarget
from adrelay.platforms.base import make_tag
from adrelay.platforms.tiktok import mapper
from adrelay.platforms.tiktok.mapper import AdMedia, MappingError
from tests.support.samples import campaign_dict

TARGET = TikTokTarget(
    connection_id="c", advertiser_id="7300000000000000101", identity_id="7300000000000000201"
)
PIXEL_TARGET = TARGET.model_copy(update={"pixel_id": "7300000000000000301"})
TAG = make_tag("pub-1", "campaign")


def build(**changes: Any) -> Campaign:
    raw = campaign_dict(campaign_id="cmp-1")
    for key, value in changes.items():
        raw[key] = value
    return Campaign.model_validate(raw)


def with_ad_set(raw_changes: dict[str, Any], **campaign_changes: Any) -> Campaign:
    raw = campaign_dict(campaign_id="cmp-1")
    raw["ad_sets"][0].update(raw_changes)
    raw.update(campaign_changes)
    return Campaign.model_validate(raw)


def campaign_budget(amount_minor: int, currency: str, period: str = "daily") -> dict[str, Any]:
    raw = campaign_dict(campaign_id="cmp-1", currency=currency)
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": period, "amount": {"amount_minor": amount_minor, "currency": currency}}
    for ad_set in raw["ad_sets"]:
        ad_set.pop("budget")
    return raw


def adgroup(campaign: Campaign, index: int = 0, target: TikTokTarget = TARGET) -> dict[str, Any]:
    return mapper.adgroup_payload(campaign, campaign.ad_sets[index], target, TAG, "1800000000000000001")


# ---- objectives ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "objective, objective_type",
    [
        (Objective.AWARENESS, "REACH"),
        (Objective.TRAFFIC, "TRAFFIC"),
        (Objective.ENGAGEMENT, "ENGAGEMENT"),
        (Objective.LEADS, "LEAD_GENERATION"),
        (Objective.SALES, "WEB_CONVERSIONS"),
        (Objective.VIDEO_VIEWS, "VIDEO_VIEWS"),
    ],
)
def test_each_objective_maps_to_a_current_tiktok_objective(objective: Objective, objective_type: str) -> None:
    payload = mapper.campaign_payload(build(objective=objective.value), TARGET, TAG)
    assert payload["objective_type"] == objective_type
    assert payload["objective_type"] not in {"CONVERSIONS", "APP_INSTALL", "CATALOG_SALES", "SHOP_PURCHASES"}


def test_app_promotion_is_refused_because_the_model_has_no_app() -> None:
    with pytest.raises(MappingError) as caught:
        mapper.campaign_payload(build(objective="app_promotion"), TARGET, TAG)
    assert caught.value.path == "objective"


@pytest.mark.parametrize(
    "objective, goal, billing, promotion",
    [
        ("awareness", "REACH", "CPM", None),
        ("traffic", "CLICK", "CPC", "WEBSITE"),
        ("engagement", "FOLLOWERS", "OCPM", None),
        ("video_views", "ENGAGED_VIEW", "OCPM", None),
    ],
)
def test_optimization_goal_billing_and_promotion_follow_the_objective(
    objective: str, goal: str, billing: str, promotion: str | None
) -> None:
    payload = adgroup(build(objective=objective))
    assert (payload["optimization_goal"], payload["billing_event"]) == (goal, billing)
    assert payload.get("promotion_type") == promotion
    assert "pixel_id" not in payload


@pytest.mark.parametrize(
    "objective, event, expected",
    [("sales", None, "SHOPPING"), ("sales", "add_to_cart", "ON_WEB_CART"), ("leads", None, "FORM")],
)
def test_conversion_objectives_optimize_a_pixel_event_billed_ocpm(
    objective: str, event: str | None, expected: str
) -> None:
    campaign = with_ad_set({"conversion_event": event}, objective=objective)
    payload = adgroup(campaign, target=PIXEL_TARGET)
    assert (payload["optimization_goal"], payload["billing_event"]) == ("CONVERT", "OCPM")
    assert payload["pixel_id"] == PIXEL_TARGET.pixel_id and payload["optimization_event"] == expected
    assert payload["promotion_type"] == "WEBSITE"


def test_conversions_without_a_pixel_blame_the_target() -> None:
    with pytest.raises(MappingError) as caught:
        adgroup(build(objective="sales"))
    assert caught.value.path == "targets.tiktok.pixel_id"


def test_an_unsupported_optimization_goal_blames_the_ad_set() -> None:
    with pytest.raises(MappingError) as caught:
        adgroup(with_ad_set({"optimization_goal": "conversions"}, objective="traffic"))
    assert caught.value.path == "ad_sets[0].optimization_goal"


def test_landing_page_views_are_their_own_traffic_goal() -> None:
    payload = adgroup(with_ad_set({"optimization_goal": "landing_page_views"}))
    assert payload["optimization_goal"] == "TRAFFIC_LANDING_PAGE_VIEW"


# ---- money --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "amount_minor, currency, sent",
    [(5000, "USD", 50), (5075, "USD", 50.75), (1, "USD", 0.01), (6000, "JPY", 6000), (2000, "JPY", 2000)],
)
def test_money_is_sent_in_major_units_exactly(amount_minor: int, currency: str, sent: int | float) -> None:
    value = mapper.major_units(Money(amount_minor=amount_minor, currency=currency), "x")
    assert value == sent and type(value) is type(sent)
    assert json.dumps(value) == json.dumps(sent)


def test_jpy_is_never_sent_with_decimals() -> None:
    value = mapper.major_units(Money(amount_minor=123456, currency="JPY"), "x")
    assert json.dumps(value) == "123456"


def test_usd_campaign_budget_optimizes_at_the_campaign() -> None:
    payload = mapper.campaign_payload(Campaign.model_validate(campaign_budget(7550, "USD")), TARGET, TAG)
    assert payload["budget_optimize_on"] is True
    assert (payload["budget_mode"], payload["budget"]) == ("BUDGET_MODE_DAY", 75.5)


def test_jpy_lifetime_campaign_budget_is_whole_yen_total() -> None:
    campaign = Campaign.model_validate(campaign_budget(300000, "JPY", "lifetime"))
    payload = mapper.campaign_payload(campaign, TARGET, TAG)
    assert (payload["budget_mode"], payload["budget"]) == ("BUDGET_MODE_TOTAL", 300000)
    group = adgroup(campaign)
    assert "budget" not in group and "budget_mode" not in group  # TikTok ignores them under campaign budget


def test_ad_set_budgets_leave_the_campaign_unlimited() -> None:
    campaign = build()
    assert mapper.campaign_payload(campaign, TARGET, TAG)["budget_mode"] == "BUDGET_MODE_INFINITE"
    assert "budget" not in mapper.campaign_payload(campaign, TARGET, TAG)
    group = adgroup(campaign)
    assert (group["budget_mode"], group["budget"]) == ("BUDGET_MODE_DAY", 50)


def test_a_lifetime_ad_set_budget_is_total() -> None:
    campaign = with_ad_set(
        {"budget": {"period": "lifetime", "amount": {"amount_minor": 100000, "currency": "USD"}}}
    )
    group = adgroup(campaign)
    assert (group["budget_mode"], group["budget"], group["schedule_type"]) == (
        "BUDGET_MODE_TOTAL",
        1000,
        "SCHEDULE_START_END",
    )


def test_bids_are_custom_with_the_field_the_billing_event_takes() -> None:
    usd = {"amount_minor": 125, "currency": "USD"}
    cpc = adgroup(with_ad_set({"bid_strategy": "bid_cap", "bid_amount": usd}))
    assert (cpc["bid_type"], cpc["bid_price"]) == (
        "BID_TYPE_CUSTOM",
        1.25,
    ) and "conversion_bid_price" not in cpc
    campaign = with_ad_set({"bid_strategy": "cost_cap", "bid_amount": usd}, objective="sales")
    ocpm = adgroup(campaign, target=PIXEL_TARGET)
    assert (ocpm["bid_type"], ocpm["conversion_bid_price"]) == ("BID_TYPE_CUSTOM", 1.25)
    assert adgroup(build())["bid_type"] == "BID_TYPE_NO_BID"


# ---- targeting ---------------------------------------------------------------------------------------------
def test_targeting_is_flat_with_location_ids() -> None:
    targeting = {"countries": ["US", "JP", "SA"], "age_min": 18, "age_max": 65, "languages": ["en", "ja"]}
    group = adgroup(with_ad_set({"targeting": targeting}))
    assert "targeting" not in group
    assert group["location_ids"] == ["6252001", "1861060", "102358"]
    assert group["age_groups"] == ["AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100"]
    assert group["gender"] == "GENDER_UNLIMITED" and group["languages"] == ["en", "ja"]
    assert group["placement_type"] == "PLACEMENT_TYPE_AUTOMATIC"


def test_a_country_without_a_location_id_names_its_field() -> None:
    with pytest.raises(MappingError) as caught:
        adgroup(with_ad_set({"targeting": {"countries": ["US", "IS"]}}))
    assert caught.value.path == "ad_sets[0].targeting.countries[1]"


@pytest.mark.parametrize(
    "age_min, age_max, groups, widened",
    [
        (18, 65, ["AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100"], False),
        (25, 45, ["AGE_25_34", "AGE_35_44", "AGE_45_54"], True),
        (18, 24, ["AGE_18_24"], False),
        (20, 30, ["AGE_18_24", "AGE_25_34"], True),
        (13, 17, ["AGE_13_17"], False),
        (55, 65, ["AGE_55_100"], False),
        (55, 64, ["AGE_55_100"], True),
    ],
)
def test_age_range_becomes_the_covering_buckets(
    age_min: int, age_max: int, groups: list[str], widened: bool
) -> None:
    targeting = {"countries": ["US"], "age_min": age_min, "age_max": age_max}
    campaign = with_ad_set({"targeting": targeting})
    mapping = mapper.age_groups(campaign.ad_sets[0].targeting)
    assert mapping.groups == groups and mapping.widened(campaign.ad_sets[0].targeting) is widened


@pytest.mark.parametrize(
    "genders, expected",
    [
        ([], "GENDER_UNLIMITED"),
        (["male"], "GENDER_MALE"),
        (["female"], "GENDER_FEMALE"),
        (["male", "female"], "GENDER_UNLIMITED"),
    ],
)
def test_gender(genders: list[str], expected: str) -> None:
    group = adgroup(with_ad_set({"targeting": {"countries": ["US"], "genders": genders}}))
    assert group["gender"] == expected


# ---- schedule, names, ids ------------------------------------------------------------------------------------
def test_schedule_times_are_utc_in_tiktoks_format() -> None:
    schedule = {
        "start_time": "2031-03-01T09:00:00+09:00",
        "end_time": "2031-03-31T23:30:00-05:00",
        "timezone": "Asia/Tokyo",
    }
    group = adgroup(build(schedule=schedule))
    assert group["schedule_type"] == "SCHEDULE_START_END"
    assert group["schedule_start_time"] == "2031-03-01 00:00:00"
    assert group["schedule_end_time"] == "2031-04-01 04:30:00"
    open_ended = adgroup(build(schedule={"start_time": "2031-03-01T00:00:00Z"}))
    assert open_ended["schedule_type"] == "SCHEDULE_FROM_NOW" and "schedule_end_time" not in open_ended


def test_names_carry_the_tag_without_emoji_and_fit_512_as_tiktok_counts() -> None:
    assert mapper.object_name("Spring 🌸 sale", TAG) == f"Spring sale [{TAG}]"
    long_cjk = mapper.object_name("春" * 400, TAG)
    assert mapper.name_length(long_cjk) <= 512 and mapper.has_tag(long_cjk, TAG)
    assert not mapper.has_tag(f"other [{make_tag('pub-2', 'campaign')}]", TAG)


def test_request_id_is_a_deterministic_int64_string() -> None:
    first = mapper.request_id(TAG)
    assert first == mapper.request_id(TAG) and first.isdigit() and int(first) < 2**63
    assert first != mapper.request_id(make_tag("pub-1", "ad_set:as-1"))


def test_campaign_is_created_disabled_with_request_id_and_special_industries() -> None:
    payload = mapper.campaign_payload(build(special_ad_categories=["housing", "credit"]), TARGET, TAG)
    assert payload["operation_status"] == "DISABLE" and payload["request_id"] == mapper.request_id(TAG)
    assert payload["special_industries"] == ["HOUSING", "CREDIT"]
    assert payload["campaign_name"] == f"Spring coffee cmp-1 [{TAG}]"


# ---- ads ------------------------------------------------------------------------------------------------------
def test_an_image_ad_is_single_image_with_tracking_and_no_request_id() -> None:
    campaign = build()
    _, ad = campaign.ads()[0]
    payload = mapper.ad_payload(campaign, ad, TARGET, TAG, "1800000000000000002", AdMedia(image_id="img-x"))
    assert set(payload) == {"advertiser_id", "adgroup_id", "creatives"}
    (creative,) = payload["creatives"]
    assert creative["ad_format"] == "SINGLE_IMAGE" and creative["image_ids"] == ["img-x"]
    assert (creative["identity_type"], creative["identity_id"]) == ("CUSTOMIZED_USER", TARGET.identity_id)
    assert creative["call_to_action"] == "SHOP_NOW" and creative["operation_status"] == "DISABLE"
    assert creative["ad_text"] == "Fresh coffee, delivered." and creative["ad_name"].endswith(f"[{TAG}]")
    assert creative["landing_page_url"] == (
        "https://example.com/coffee?utm_source=tiktok&utm_medium=paid_social&utm_campaign=cmp-1"
        "&utm_content=ad-1-1&ttclid=__CLICKID__"
    )


def test_a_video_ad_carries_the_video_and_its_cover() -> None:
    campaign = build()
    _, ad = campaign.ads()[1]
    media = mapper.ad_media(
        campaign, ad, {"media:vid-1": {"video_id": "v1"}, "media:img-cover": {"image_id": "c1"}}
    )
    creative = mapper.creative_payload(campaign, ad, TARGET, TAG, media)
    assert (creative["ad_format"], creative["video_id"], creative["image_ids"]) == (
        "SINGLE_VIDEO",
        "v1",
        ["c1"],
    )


def test_landing_url_keeps_its_own_query_and_campaign_utms_win() -> None:
    raw = campaign_dict(campaign_id="cmp-1")
    raw["utm_parameters"] = {"utm_medium": "tiktok_ads", "promo": "spring 24"}
    creative = raw["ad_sets"][0]["ads"][0]["creative"]
    creative["landing_url"] = "https://example.com/coffee?ref=x&utm_source=newsletter#top"
    creative["call_to_action"] = "watch_more"
    creative["display_name"] = "Coffee Co"
    campaign = Campaign.model_validate(raw)
    ad = campaign.ads()[0][1]
    payload = mapper.creative_payload(campaign, ad, TARGET, TAG, AdMedia(image_id="i"))
    url = payload["landing_page_url"]
    assert url.startswith("https://example.com/coffee?ref=x&utm_source=newsletter&utm_medium=tiktok_ads")
    assert "promo=spring%2024" in url and url.endswith("ttclid=__CLICKID__#top")
    assert url.count("utm_source") == 1
    assert payload["call_to_action"] == "WATCH_NOW" and payload["display_name"] == "Coffee Co"


def test_upload_fields_use_the_tag_as_the_unique_file_name() -> None:
    campaign = build()
    media = campaign.media_by_id()
    image = mapper.upload_fields(TARGET, media["img-1"], TAG, "0" * 32)
    assert image == {
        "advertiser_id": TARGET.advertiser_id,
        "upload_type": "UPLOAD_BY_FILE",
        "image_signature": "0" * 32,
        "file_name": f"{TAG}.png",
    }
    video = mapper.upload_fields(TARGET, media["vid-1"], TAG, "1" * 32)
    assert video["video_signature"] == "1" * 32 and video["file_name"] == f"{TAG}.mp4"


def test_utc_time_accepts_any_zone() -> None:
    assert mapper.utc_time(datetime.fromisoformat("2030-01-01T00:00:00+01:00")) == "2029-12-31 23:00:00"
