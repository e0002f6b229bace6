"""Our campaign → Meta payloads: money in Meta's units per currency, objectives and goals, targeting,
times, creatives with tracked landing URLs, tags in names and labels."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from adrelay.model import Campaign, MetaTarget, Money
from adrelay.platforms.base import make_tag
from adrelay.platforms.meta import mapper
from adrelay.platforms.meta.mapper import MappingError
from tests.support.samples import campaign_dict

TAG = make_tag("pub-1", "campaign")
TARGET = MetaTarget(connection_id="c1", ad_account_id="act_1", page_id="200", pixel_id="300")


def build(**changes: Any) -> Campaign:
    raw = campaign_dict(campaign_id="cmp-1")
    ad_set_changes = changes.pop("ad_set", {})
    raw.update(changes)
    for ad_set in raw["ad_sets"]:
        ad_set.update(ad_set_changes)
    return Campaign.model_validate(raw)


# ---- money ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("major", "currency", "meta"),
    [
        ("20.00", "USD", 2000),
        ("0.01", "USD", 1),
        ("5000", "JPY", 5000),
        ("1234.00", "HUF", 1234),
        ("100.00", "TWD", 100),
        ("19.99", "EUR", 1999),
        ("1.230", "KWD", 123),
        ("25000", "VND", 25000),
        ("3000", "KRW", 3000),
        ("4500.00", "COP", 4500),
    ],
)
def test_amounts_in_metas_units(major: str, currency: str, meta: int) -> None:
    assert mapper.meta_amount(Money.of(major, currency)) == meta


@pytest.mark.parametrize(
    ("major", "currency"),
    [("1234.50", "HUF"), ("99.99", "TWD"), ("1.234", "KWD"), ("10.01", "IDR")],
)
def test_amounts_meta_cannot_hold_are_refused_not_rounded(major: str, currency: str) -> None:
    with pytest.raises(MappingError, match=f"cannot be sent to Meta exactly: Meta counts {currency}"):
        mapper.meta_amount(Money.of(major, currency), "ad_sets[0].budget.amount")


def test_a_refused_amount_names_its_field() -> None:
    campaign = build(
        ad_set={"budget": {"period": "daily", "amount": {"amount_minor": 123450, "currency": "HUF"}}}
    )
    with pytest.raises(MappingError) as caught:
        mapper.ad_set_payload(campaign, campaign.ad_sets[1], TARGET, TAG, "1")
    assert caught.value.path == "ad_sets[1].budget.amount"


def test_usd_and_jpy_budgets_in_ad_set_payloads() -> None:
    usd = build(ad_set={"budget": {"period": "daily", "amount": {"amount_minor": 2000, "currency": "USD"}}})
    jpy = build(ad_set={"budget": {"period": "daily", "amount": {"amount_minor": 5000, "currency": "JPY"}}})
    assert mapper.ad_set_payload(usd, usd.ad_sets[0], TARGET, TAG, "1")["daily_budget"] == 2000
    assert mapper.ad_set_payload(jpy, jpy.ad_sets[0], TARGET, TAG, "1")["daily_budget"] == 5000


def test_huf_and_twd_whole_amounts_pass_unchanged() -> None:
    huf = build(ad_set={"budget": {"period": "daily", "amount": {"amount_minor": 360000, "currency": "HUF"}}})
    twd = build(ad_set={"budget": {"period": "daily", "amount": {"amount_minor": 50000, "currency": "TWD"}}})
    assert mapper.ad_set_payload(huf, huf.ad_sets[0], TARGET, TAG, "1")["daily_budget"] == 3600
    assert mapper.ad_set_payload(twd, twd.ad_sets[0], TARGET, TAG, "1")["daily_budget"] == 500


# ---- campaign -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("objective", "meta"),
    [
        ("awareness", "OUTCOME_AWARENESS"),
        ("traffic", "OUTCOME_TRAFFIC"),
        ("engagement", "OUTCOME_ENGAGEMENT"),
        ("leads", "OUTCOME_LEADS"),
        ("app_promotion", "OUTCOME_APP_PROMOTION"),
        ("sales", "OUTCOME_SALES"),
        ("video_views", "OUTCOME_ENGAGEMENT"),
    ],
)
def test_objectives_are_odax_only(objective: str, meta: str) -> None:
    payload = mapper.campaign_payload(build(objective=objective), TAG)
    assert payload["objective"] == meta


def test_campaign_with_ad_set_budgets_declares_no_budget_sharing_and_no_bid_strategy() -> None:
    payload = mapper.campaign_payload(build(), TAG)
    assert payload["is_adset_budget_sharing_enabled"] is False
    assert "bid_strategy" not in payload and "daily_budget" not in payload
    assert payload["status"] == "PAUSED"
    assert payload["special_ad_categories"] == []
    assert payload["name"].endswith(f" [{TAG}]")


def test_campaign_budget_carries_the_bid_strategy() -> None:
    raw = campaign_dict(campaign_id="cmp-1")
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": "daily", "amount": {"amount_minor": 10000, "currency": "USD"}}
    for ad_set in raw["ad_sets"]:
        del ad_set["budget"]
        ad_set["bid_strategy"] = "cost_cap"
        ad_set["bid_amount"] = {"amount_minor": 250, "currency": "USD"}
    campaign = Campaign.model_validate(raw)
    payload = mapper.campaign_payload(campaign, TAG)
    assert payload["daily_budget"] == 10000
    assert payload["bid_strategy"] == "COST_CAP"
    assert "is_adset_budget_sharing_enabled" not in payload
    ad_set = mapper.ad_set_payload(campaign, campaign.ad_sets[0], TARGET, TAG, "1")
    assert ad_set["bid_amount"] == 250
    assert "bid_strategy" not in ad_set and "daily_budget" not in ad_set


def test_special_ad_categories() -> None:
    payload = mapper.campaign_payload(build(special_ad_categories=["credit", "politics"]), TAG)
    assert payload["special_ad_categories"] == ["CREDIT", "ISSUES_ELECTIONS_POLITICS"]


# ---- ad sets ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("objective", "goal", "meta_goal"),
    [
        ("awareness", None, "REACH"),
        ("traffic", None, "LINK_CLICKS"),
        ("traffic", "landing_page_views", "LANDING_PAGE_VIEWS"),
        ("engagement", None, "POST_ENGAGEMENT"),
        ("video_views", None, "THRUPLAY"),
        ("awareness", "video_views", "THRUPLAY"),
        ("sales", None, "OFFSITE_CONVERSIONS"),
        ("sales", "conversions", "OFFSITE_CONVERSIONS"),
        ("leads", "leads", "OFFSITE_CONVERSIONS"),
        ("traffic", "impressions", "IMPRESSIONS"),
    ],
)
def test_optimization_goals(objective: str, goal: str | None, meta_goal: str) -> None:
    campaign = build(objective=objective, ad_set={"optimization_goal": goal})
    payload = mapper.ad_set_payload(campaign, campaign.ad_sets[0], TARGET, TAG, "1")
    assert payload["optimization_goal"] == meta_goal
    assert payload["billing_event"] == "IMPRESSIONS"
    assert payload["optimization_goal"] in mapper.OBJECTIVE_GOALS[mapper.objective(campaign)]


def test_conversions_become_offsite_conversions_with_the_pixel_and_event() -> None:
    sales = build(objective="sales")
    payload = mapper.ad_set_payload(sales, sales.ad_sets[0], TARGET, TAG, "1")
    assert payload["promoted_object"] == {"pixel_id": "300", "custom_event_type": "PURCHASE"}
    leads = build(objective="leads", ad_set={"optimization_goal": "leads"})
    assert mapper.ad_set_payload(leads, leads.ad_sets[0], TARGET, TAG, "1")["promoted_object"] == {
        "pixel_id": "300",
        "custom_event_type": "LEAD",
    }
    checkout = build(objective="sales", ad_set={"conversion_event": "initiate_checkout"})
    promoted = mapper.ad_set_payload(checkout, checkout.ad_sets[0], TARGET, TAG, "1")["promoted_object"]
    assert promoted["custom_event_type"] == "INITIATED_CHECKOUT"


def test_no_goal_is_ever_the_nonexistent_conversions() -> None:
    assert "CONVERSIONS" not in set(mapper.GOALS.values()) | set(mapper.DEFAULT_GOALS.values())


def test_sales_refuses_landing_page_views() -> None:
    campaign = build(objective="sales", ad_set={"optimization_goal": "landing_page_views"})
    assert not mapper.goal_allowed(campaign, campaign.ad_sets[0])


def test_conversions_without_a_pixel_cannot_be_mapped() -> None:
    campaign = build(objective="sales")
    no_pixel = MetaTarget(connection_id="c1", ad_account_id="act_1", page_id="200")
    with pytest.raises(MappingError, match="pixel_id"):
        mapper.ad_set_payload(campaign, campaign.ad_sets[0], no_pixel, TAG, "1")


@pytest.mark.parametrize(
    ("strategy", "amount", "meta"),
    [("lowest_cost", None, "LOWEST_COST_WITHOUT_CAP"), ("bid_cap", 150, "LOWEST_COST_WITH_BID_CAP")],
)
def test_bid_strategies_and_bid_amount_only_with_caps(strategy: str, amount: int | None, meta: str) -> None:
    bid = {"amount_minor": amount, "currency": "USD"} if amount else None
    campaign = build(ad_set={"bid_strategy": strategy, "bid_amount": bid})
    payload = mapper.ad_set_payload(campaign, campaign.ad_sets[0], TARGET, TAG, "1")
    assert payload["bid_strategy"] == meta
    assert payload.get("bid_amount") == amount


def test_schedule_is_sent_with_the_advertisers_offset() -> None:
    campaign = build(
        schedule={
            "start_time": "2030-07-01T12:00:00+00:00",
            "end_time": "2030-07-31T12:00:00+00:00",
            "timezone": "America/Los_Angeles",
        }
    )
    payload = mapper.ad_set_payload(campaign, campaign.ad_sets[0], TARGET, TAG, "1")
    assert payload["start_time"] == "2030-07-01T05:00:00-0700"
    assert payload["end_time"] == "2030-07-31T05:00:00-0700"
    assert mapper.meta_time(campaign.schedule.start_time, "Asia/Kolkata") == "2030-07-01T17:30:00+0530"


def test_targeting_spec() -> None:
    campaign = build(
        ad_set={"targeting": {"countries": ["US", "CA"], "age_min": 25, "age_max": 45, "genders": ["female"]}}
    )
    spec = mapper.ad_set_payload(campaign, campaign.ad_sets[0], TARGET, TAG, "1")["targeting"]
    assert spec == {
        "geo_locations": {"countries": ["US", "CA"]},
        "age_min": 25,
        "age_max": 45,
        "genders": [2],
        "targeting_automation": {"advantage_audience": 0},
    }


def test_both_genders_and_languages_are_left_out() -> None:
    campaign = build(
        ad_set={"targeting": {"countries": ["DE"], "genders": ["male", "female"], "languages": ["de"]}}
    )
    spec = mapper.targeting_spec(campaign.ad_sets[0].targeting)
    assert "genders" not in spec and "locales" not in spec
    assert spec["targeting_automation"] == {"advantage_audience": 0}
    assert (spec["age_min"], spec["age_max"]) == (18, 65)


# ---- creatives and ads --------------------------------------------------------------------------------
def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def test_image_creative_links_with_tracking_and_is_labelled_with_its_tag() -> None:
    campaign = build(utm_parameters={"utm_term": "spring"})
    ad = campaign.ad_sets[0].ads[0]
    asset = campaign.media_by_id()[ad.creative.media_id]
    payload = mapper.creative_payload(campaign, ad, TARGET, TAG, asset, {"image_hash": "abc123"})
    link_data = payload["object_story_spec"]["link_data"]
    assert payload["adlabels"] == [{"name": TAG}]
    assert payload["name"].endswith(f"[{TAG}]") and len(payload["name"]) <= 100
    assert payload["object_story_spec"]["page_id"] == "200"
    assert "instagram_user_id" not in payload["object_story_spec"]
    assert link_data["image_hash"] == "abc123"
    assert link_data["message"] == ad.creative.primary_text and link_data["name"] == ad.creative.headline
    assert dict(query(link_data["link"])) == {
        "utm_source": "meta",
        "utm_medium": "paid_social",
        "utm_campaign": "cmp-1",
        "utm_content": ad.id,
        "utm_term": "spring",
    }
    assert link_data["call_to_action"] == {"type": "SHOP_NOW", "value": {"link": link_data["link"]}}


def test_existing_query_parameters_are_kept_and_win() -> None:
    raw = campaign_dict(campaign_id="cmp-1")
    raw["ad_sets"][0]["ads"][0]["creative"]["landing_url"] = (
        "https://shop.example/p?id=7&utm_source=newsletter#top"
    )
    campaign = Campaign.model_validate(raw)
    link = mapper.landing_url(campaign, campaign.ad_sets[0].ads[0])
    assert link.startswith("https://shop.example/p?id=7&utm_source=newsletter&utm_medium=paid_social")
    assert link.endswith("#top")
    assert [k for k, _ in query(link)].count("utm_source") == 1


def test_video_creative_uses_the_cover_and_the_instagram_account() -> None:
    campaign = build()
    ad = campaign.ad_sets[0].ads[1]
    asset = campaign.media_by_id()[ad.creative.media_id]
    target = TARGET.model_copy(update={"instagram_account_id": "17841400000000001"})
    payload = mapper.creative_payload(
        campaign, ad, target, TAG, asset, {"video_id": "55", "image_hash": "cover"}
    )
    story = payload["object_story_spec"]
    assert story["instagram_user_id"] == "17841400000000001"
    assert story["video_data"]["video_id"] == "55" and story["video_data"]["image_hash"] == "cover"
    assert story["video_data"]["title"] == ad.creative.headline
    assert "link_data" not in story


def test_ad_payload_references_its_ad_set_and_creative() -> None:
    campaign = build()
    ad = campaign.ad_sets[0].ads[0]
    assert mapper.ad_payload(ad, TAG, "11", "22") == {
        "name": f"{ad.name} [{TAG}]",
        "adset_id": "11",
        "creative": {"creative_id": "22"},
        "status": "PAUSED",
    }


def test_long_names_are_cut_but_keep_the_tag() -> None:
    campaign = build(name="x" * 400)
    name = mapper.campaign_payload(campaign, TAG)["name"]
    assert len(name) == mapper.NAME_LIMIT and name.endswith(f" [{TAG}]")
