"""Meta's rules before any write: what blocks (errors), what only warns, and the field each names."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from adrelay.events.payloads import ValidationIssue
from adrelay.model import Campaign, MetaTarget
from adrelay.platforms.auth import AccountStatus
from adrelay.platforms.meta.rules import validate
from tests.support.samples import campaign_dict

TARGET = MetaTarget(connection_id="c1", ad_account_id="act_1", page_id="200", pixel_id="300")
ACCOUNT = AccountStatus(
    account_id="act_1",
    reachable=True,
    can_spend=True,
    currency="USD",
    timezone="America/New_York",
    minimums={"min_daily_budget_imp": 100},
)


def build(**changes: Any) -> Campaign:
    raw = campaign_dict(campaign_id="cmp-1")
    ad_set_changes = changes.pop("ad_set", {})
    raw.update(changes)
    for ad_set in raw["ad_sets"]:
        ad_set.update(ad_set_changes)
    return Campaign.model_validate(raw)


def errors(issues: list[ValidationIssue]) -> dict[str, str]:
    return {i.path: i.message for i in issues if i.severity == "error"}


def warnings(issues: list[ValidationIssue]) -> dict[str, str]:
    return {i.path: i.message for i in issues if i.severity == "warning"}


def daily(minor: int, currency: str = "USD") -> dict[str, Any]:
    return {"period": "daily", "amount": {"amount_minor": minor, "currency": currency}}


def test_the_sample_campaign_passes() -> None:
    issues = validate(build(), TARGET, ACCOUNT)
    assert errors(issues) == {}
    assert all(i.platform == "meta" for i in issues)


def test_huf_with_fillér_is_refused_at_its_field() -> None:
    campaign = build(ad_set={"budget": daily(123450, "HUF")})
    found = errors(validate(campaign, TARGET, None))
    assert set(found) == {"ad_sets[0].budget.amount", "ad_sets[1].budget.amount"}
    assert "Meta counts HUF in whole units" in found["ad_sets[0].budget.amount"]


def test_twd_with_cents_is_refused_but_whole_dollars_pass() -> None:
    assert "ad_sets[0].budget.amount" in errors(
        validate(build(ad_set={"budget": daily(9999, "TWD")}), TARGET, None)
    )
    assert errors(validate(build(ad_set={"budget": daily(50000, "TWD")}), TARGET, None)) == {}


def test_the_accounts_own_minimum_blocks() -> None:
    demanding = replace(ACCOUNT, minimums={"min_daily_budget_imp": "6000"})
    found = errors(validate(build(), TARGET, demanding))
    assert found["ad_sets[0].budget.amount"] == "Meta's minimum here is 60 USD (60 USD a day)"


def test_without_account_minimums_the_usd_floor_only_warns() -> None:
    campaign = build(ad_set={"budget": daily(50)})
    issues = validate(campaign, TARGET, None)
    assert errors(issues) == {}
    assert "ad_sets[0].budget.amount" in warnings(issues)


def test_lifetime_budgets_need_the_daily_minimum_for_every_day() -> None:
    start = datetime.now(UTC) + timedelta(days=1)
    schedule = {"start_time": start.isoformat(), "end_time": (start + timedelta(days=10)).isoformat()}
    lifetime = {"period": "lifetime", "amount": {"amount_minor": 900, "currency": "USD"}}
    found = errors(validate(build(schedule=schedule, ad_set={"budget": lifetime}), TARGET, ACCOUNT))
    assert found["ad_sets[0].budget.amount"] == "Meta's minimum here is 10 USD (1 USD a day)"


def test_the_goal_must_suit_the_objective() -> None:
    campaign = build(objective="sales", ad_set={"optimization_goal": "landing_page_views"})
    found = errors(validate(campaign, TARGET, None))
    assert "OUTCOME_SALES does not take the goal LANDING_PAGE_VIEWS" in found["ad_sets[0].optimization_goal"]


def test_conversions_need_a_pixel() -> None:
    no_pixel = TARGET.model_copy(update={"pixel_id": None})
    found = errors(validate(build(objective="sales"), no_pixel, None))
    assert "needs a pixel" in found["ad_sets[0].optimization_goal"]


def test_conversions_need_an_event_outside_sales_and_leads() -> None:
    campaign = build(objective="engagement", ad_set={"optimization_goal": "conversions"})
    assert "ad_sets[0].conversion_event" in errors(validate(campaign, TARGET, None))


def test_app_promotion_is_refused() -> None:
    assert "objective" in errors(validate(build(objective="app_promotion"), TARGET, None))


def test_campaign_budget_needs_one_bid_strategy() -> None:
    raw = campaign_dict(campaign_id="cmp-1")
    raw["budget_level"] = "campaign"
    raw["budget"] = daily(20000)
    for ad_set in raw["ad_sets"]:
        del ad_set["budget"]
    raw["ad_sets"][1]["bid_strategy"] = "bid_cap"
    raw["ad_sets"][1]["bid_amount"] = {"amount_minor": 300, "currency": "USD"}
    found = errors(validate(Campaign.model_validate(raw), TARGET, ACCOUNT))
    assert set(found) == {"ad_sets[1].bid_strategy"}


def test_campaign_budget_below_every_ad_sets_minimum_warns() -> None:
    raw = campaign_dict(campaign_id="cmp-1")
    raw["budget_level"] = "campaign"
    raw["budget"] = daily(150)
    for ad_set in raw["ad_sets"]:
        del ad_set["budget"]
    issues = validate(Campaign.model_validate(raw), TARGET, ACCOUNT)
    assert errors(issues) == {}
    assert "budget.amount" in warnings(issues)


def test_targeting_warnings() -> None:
    campaign = build(
        special_ad_categories=["housing"],
        ad_set={"targeting": {"countries": ["DE", "TH"], "age_min": 18, "age_max": 40, "languages": ["de"]}},
    )
    found = warnings(validate(campaign, TARGET, None))
    assert {
        "ad_sets[0].targeting.languages",
        "ad_sets[0].targeting",
        "ad_sets[0].targeting.age_min",
        "ad_sets[0].targeting.countries",
    } <= set(found)
    assert errors(validate(campaign, TARGET, None)) == {}


def test_text_that_meta_truncates_only_warns() -> None:
    raw = campaign_dict(campaign_id="cmp-1")
    raw["ad_sets"][0]["ads"][0]["creative"]["primary_text"] = "p" * 300
    raw["ad_sets"][0]["ads"][0]["creative"]["headline"] = "h" * 60
    issues = validate(Campaign.model_validate(raw), TARGET, None)
    assert errors(issues) == {}
    assert {"ad_sets[0].ads[0].creative.primary_text", "ad_sets[0].ads[0].creative.headline"} <= set(
        warnings(issues)
    )
