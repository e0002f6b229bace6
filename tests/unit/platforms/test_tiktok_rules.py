"""TikTok rules before any write: minimums per currency (USD, JPY confirmed; others warn), the account's
own minimums, text limits, objective support, targeting, schedule and media."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adrelay.events.payloads import ValidationIssue
from adrelay.model import Campaign, MetaTarget, Platform, TikTokTarget
from adrelay.platforms.auth import AccountStatus
from adrelay.platforms.tiktok.rules import validate
from tests.support.samples import campaign_dict

TARGET = TikTokTarget(
    connection_id="c", advertiser_id="7300000000000000101", identity_id="7300000000000000201"
)
PIXEL_TARGET = TARGET.model_copy(update={"pixel_id": "7300000000000000301"})


def check(
    raw: dict[str, Any], target: Any = TARGET, account: AccountStatus | None = None
) -> list[ValidationIssue]:
    return validate(Campaign.model_validate(raw), target, account)


def errors(issues: list[ValidationIssue]) -> dict[str, str]:
    return {i.path: i.message for i in issues if i.severity == "error"}


def warnings(issues: list[ValidationIssue]) -> dict[str, str]:
    return {i.path: i.message for i in issues if i.severity == "warning"}


def ad_set_budget(amount_minor: int, currency: str = "USD", period: str = "daily") -> dict[str, Any]:
    raw = campaign_dict(currency=currency)
    for ad_set in raw["ad_sets"]:
        ad_set["budget"] = {"period": period, "amount": {"amount_minor": amount_minor, "currency": currency}}
    return raw


def campaign_budget(amount_minor: int, currency: str = "USD", period: str = "daily") -> dict[str, Any]:
    raw = campaign_dict(currency=currency)
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": period, "amount": {"amount_minor": amount_minor, "currency": currency}}
    for ad_set in raw["ad_sets"]:
        ad_set.pop("budget")
    return raw


def test_the_sample_campaign_passes_with_only_the_age_bucket_warning() -> None:
    raw = campaign_dict()
    for ad_set in raw["ad_sets"]:
        ad_set["targeting"] = {"countries": ["US"], "age_min": 25, "age_max": 45}
    issues = check(raw)
    assert errors(issues) == {}
    assert set(warnings(issues)) == {"ad_sets[0].targeting.age_min", "ad_sets[1].targeting.age_min"}
    assert "25-54" in warnings(issues)["ad_sets[0].targeting.age_min"]
    assert all(i.platform is Platform.TIKTOK for i in issues)


# ---- money -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "amount_minor, currency, error, warning",
    [
        (1999, "USD", True, False),
        (2000, "USD", False, True),  # exactly the minimum: accepted by the budget reference, warned
        (2001, "USD", False, False),
        (1999, "JPY", True, False),  # ratio 100: 2 000 yen
        (2000, "JPY", False, True),
        (2500, "JPY", False, False),
    ],
)
def test_ad_group_daily_minimum_per_currency(
    amount_minor: int, currency: str, error: bool, warning: bool
) -> None:
    issues = check(ad_set_budget(amount_minor, currency))
    assert ("ad_sets[0].budget.amount" in errors(issues)) is error
    assert ("ad_sets[0].budget.amount" in warnings(issues)) is warning


def test_the_minimum_is_stated_in_the_currency() -> None:
    assert "20.00 USD" in errors(check(ad_set_budget(1000)))["ad_sets[0].budget.amount"]
    assert "2000 JPY" in errors(check(ad_set_budget(1000, "JPY")))["ad_sets[0].budget.amount"]


@pytest.mark.parametrize(
    "amount_minor, currency, error",
    [(4999, "USD", True), (5000, "USD", False), (4999, "JPY", True), (5000, "JPY", False)],
)
def test_campaign_minimum_per_currency(amount_minor: int, currency: str, error: bool) -> None:
    assert ("budget.amount" in errors(check(campaign_budget(amount_minor, currency)))) is error


def test_an_ad_group_lifetime_budget_covers_the_daily_minimum_for_every_day() -> None:
    # The sample schedule runs 30 days: 30 x 20 USD.
    assert "600.00 USD" in errors(check(ad_set_budget(59999, period="lifetime")))["ad_sets[0].budget.amount"]
    assert "ad_sets[0].budget.amount" not in errors(check(ad_set_budget(60001, period="lifetime")))


def test_estimated_ratios_only_warn_and_unknown_currencies_say_so() -> None:
    euro = check(ad_set_budget(1000, "EUR"))
    assert "ad_sets[0].budget.amount" not in errors(euro)
    assert "UNCONFIRMED" in warnings(euro)["ad_sets[0].budget.amount"]
    chilean = check(ad_set_budget(1000, "CLP"))
    assert errors(chilean) == {} and "not known" in warnings(chilean)["ad_sets[0].budget.amount"]


def test_the_accounts_own_minimums_win_and_its_currency_must_match() -> None:
    account = AccountStatus(
        account_id="a",
        reachable=True,
        can_spend=True,
        currency="USD",
        minimums={"adgroup_daily_budget_min": "60"},
    )
    assert "60.00 USD" in errors(check(campaign_dict(), account=account))["ad_sets[0].budget.amount"]
    euro_ratio = AccountStatus(account_id="a", reachable=True, can_spend=True, minimums={"budget_ratio": "2"})
    assert (
        "40.00 EUR"
        in errors(check(ad_set_budget(3000, "EUR"), account=euro_ratio))["ad_sets[0].budget.amount"]
    )
    yen_account = AccountStatus(account_id="a", reachable=True, can_spend=True, currency="JPY")
    assert "ad_sets[0].budget.amount.currency" in errors(check(campaign_dict(), account=yen_account))


def test_budgets_above_the_maximum_are_refused() -> None:
    assert "below" in errors(check(campaign_budget(1_000_000_000)))["budget.amount"]


# ---- objective and delivery --------------------------------------------------------------------------------
def test_app_promotion_and_political_ads_are_refused() -> None:
    raw = campaign_dict()
    raw["objective"] = "app_promotion"
    assert "objective" in errors(check(raw))
    raw = campaign_dict()
    raw["special_ad_categories"] = ["housing", "politics"]
    assert set(errors(check(raw))) == {"special_ad_categories[1]"}


def test_an_optimization_goal_the_objective_lacks_is_an_error() -> None:
    raw = campaign_dict()
    raw["ad_sets"][1]["optimization_goal"] = "video_views"
    assert set(errors(check(raw))) == {"ad_sets[1].optimization_goal"}


def test_conversion_objectives_need_the_pixel() -> None:
    raw = campaign_dict()
    raw["objective"] = "sales"
    issues = check(raw)
    assert set(errors(issues)) == {"targets.tiktok.pixel_id"}
    assert [i.path for i in issues].count("targets.tiktok.pixel_id") == 1  # once, not per ad set
    assert errors(check(raw, PIXEL_TARGET)) == {}


def test_a_conversion_event_where_none_is_optimized_warns() -> None:
    raw = campaign_dict()
    raw["ad_sets"][0]["conversion_event"] = "purchase"
    assert "ad_sets[0].conversion_event" in warnings(check(raw))


def test_bid_semantics_that_differ_on_tiktok_warn() -> None:
    raw = campaign_dict()
    raw["ad_sets"][0].update(bid_strategy="cost_cap", bid_amount={"amount_minor": 100, "currency": "USD"})
    assert "maximum bid" in warnings(check(raw))["ad_sets[0].bid_strategy"]


def test_a_non_tiktok_target_is_an_error() -> None:
    meta = MetaTarget(connection_id="m", ad_account_id="act_1", page_id="1")
    assert set(errors(check(campaign_dict(), meta))) == {"targets"}


# ---- targeting and schedule ---------------------------------------------------------------------------------
def test_a_country_without_a_location_id_is_an_error_naming_it() -> None:
    raw = campaign_dict()
    raw["ad_sets"][0]["targeting"]["countries"] = ["US", "IS"]
    assert "IS" in errors(check(raw))["ad_sets[0].targeting.countries[1]"]


def test_teen_targeting_is_refused_where_tiktok_restricts_it() -> None:
    raw = campaign_dict()
    raw["ad_sets"][0]["targeting"] = {"countries": ["JP", "DE"], "age_min": 13, "age_max": 17}
    assert "DE" in errors(check(raw))["ad_sets[0].targeting.age_min"]
    raw["ad_sets"][0]["targeting"]["countries"] = ["JP"]
    assert "ad_sets[0].targeting.age_min" not in errors(check(raw))


def test_schedules_that_ended_are_errors_and_past_starts_warn() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    raw = campaign_dict()
    raw["schedule"] = {
        "start_time": (now - timedelta(days=3)).isoformat(),
        "end_time": (now - timedelta(days=1)).isoformat(),
    }
    issues = check(raw)
    assert "schedule.end_time" in errors(issues) and "schedule.start_time" in warnings(issues)


# ---- ads and media --------------------------------------------------------------------------------------------
def test_ad_text_display_name_and_call_to_action_limits() -> None:
    raw = campaign_dict()
    creative = raw["ad_sets"][0]["ads"][0]["creative"]
    creative["primary_text"] = "x" * 101
    creative["display_name"] = "y" * 41
    creative["call_to_action"] = "get_offer"
    raw["ad_sets"][1]["ads"][1]["creative"]["primary_text"] = "Great coffee ☕"
    issues = check(raw)
    assert set(errors(issues)) == {
        "ad_sets[0].ads[0].creative.primary_text",
        "ad_sets[0].ads[0].creative.display_name",
        "ad_sets[1].ads[1].creative.primary_text",
    }
    assert "101" in errors(issues)["ad_sets[0].ads[0].creative.primary_text"]
    assert "emoji" in errors(issues)["ad_sets[1].ads[1].creative.primary_text"]
    assert "ad_sets[0].ads[0].creative.call_to_action" in warnings(issues)


def test_emoji_in_names_are_dropped_with_a_warning() -> None:
    raw = campaign_dict()
    raw["name"] = "Spring 🌸"
    assert "name" in warnings(check(raw)) and "name" not in errors(check(raw))


def test_more_than_twenty_ads_in_an_ad_group_is_an_error() -> None:
    raw = campaign_dict(ads_per_set=21)
    assert set(errors(check(raw))) == {"ad_sets[0].ads", "ad_sets[1].ads"}


def test_media_rules() -> None:
    raw = campaign_dict()
    media = {m["id"]: m for m in raw["media"]}
    media["img-cover"]["width"], media["img-cover"]["height"] = 1080, 1080  # cover 1:1, video 9:16
    issues = check(raw)
    assert "media[2].cover_media_id" in errors(issues)
    raw = campaign_dict()
    media = {m["id"]: m for m in raw["media"]}
    media["img-1"]["width"], media["img-1"]["height"] = 2000, 2000  # 4 000 000 px
    media["vid-1"]["width"], media["vid-1"]["height"] = 1000, 1300  # not 9:16, 16:9 or 1:1
    media["img-cover"]["width"], media["img-cover"]["height"] = 1000, 1300
    issues = check(raw)
    assert "media[0].width" in errors(issues) and "media[2].width" in warnings(issues)
    assert "media[2].cover_media_id" not in errors(issues)
