"""Snapchat pre-flight rules: each issue with our dotted field path; errors block, warnings do not."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adrelay.events.payloads import ValidationIssue
from adrelay.model import Campaign, Platform, SnapchatTarget
from adrelay.platforms.auth import AccountStatus
from adrelay.platforms.snapchat import rules
from tests.support import samples

ACCOUNT = "9c8b7a6d-5e4f-4a3b-b2c1-d0e9f8a7b6c5"
TARGET = SnapchatTarget(connection_id="conn-snap", ad_account_id=ACCOUNT, brand_name="Coffee Co")
NOW = datetime(2026, 2, 1, tzinfo=UTC)


def raw_campaign() -> dict[str, Any]:
    raw = samples.campaign_dict(campaign_id="cmp-rules")
    raw["media"][0].update(height=1920)  # a 9:16 top snap
    raw["schedule"] = {
        "start_time": "2026-03-01T00:00:00Z",
        "end_time": "2026-03-31T00:00:00Z",
        "timezone": "UTC",
    }
    return raw


def check(
    raw: dict[str, Any], target: SnapchatTarget = TARGET, account: AccountStatus | None = None
) -> list[ValidationIssue]:
    return rules.validate(Campaign.model_validate(raw), target, account, NOW)


def errors(issues: list[ValidationIssue]) -> dict[str, str]:
    return {i.path: i.message for i in issues if i.severity == "error"}


def warnings(issues: list[ValidationIssue]) -> dict[str, str]:
    return {i.path: i.message for i in issues if i.severity == "warning"}


def test_the_sample_campaign_passes() -> None:
    issues = check(raw_campaign())
    assert errors(issues) == {}
    assert all(i.platform is Platform.SNAPCHAT for i in issues)


def test_headline_longer_than_34_characters_is_an_error() -> None:
    raw = raw_campaign()
    raw["ad_sets"][1]["ads"][0]["creative"]["headline"] = "h" * 35
    assert "ad_sets[1].ads[0].creative.headline" in errors(check(raw))
    raw["ad_sets"][1]["ads"][0]["creative"]["headline"] = "h" * 34
    assert errors(check(raw)) == {}


def test_brand_name_longer_than_32_characters_is_an_error() -> None:
    raw = raw_campaign()
    raw["ad_sets"][0]["ads"][1]["creative"]["display_name"] = "b" * 33
    assert "ad_sets[0].ads[1].creative.display_name" in errors(check(raw))
    with_profile = TARGET.model_copy(update={"profile_id": "3f4e5d6c-7b8a-4a9b-8c0d-1e2f3a4b5c6d"})
    assert errors(check(raw, with_profile)) == {}  # a public profile replaces the brand name


def test_ad_squad_budget_below_five_units_in_any_currency() -> None:
    raw = raw_campaign()
    raw["ad_sets"][0]["budget"]["amount"]["amount_minor"] = 499
    assert "ad_sets[0].budget.amount" in errors(check(raw))
    raw["ad_sets"][0]["budget"]["amount"]["amount_minor"] = 500
    assert errors(check(raw)) == {}


def test_account_minimum_overrides_the_documented_one() -> None:
    raw = raw_campaign()
    raw["ad_sets"][0]["budget"]["amount"]["amount_minor"] = 200  # 2 USD
    account = AccountStatus(
        account_id=ACCOUNT,
        reachable=True,
        can_spend=True,
        currency="USD",
        minimums={rules.AD_SQUAD_MINIMUM_KEY: 1_000_000},
    )
    assert errors(check(raw, account=account)) == {}
    strict = AccountStatus(
        account_id=ACCOUNT,
        reachable=True,
        can_spend=True,
        currency="USD",
        minimums={rules.AD_SQUAD_MINIMUM_KEY: 60_000_000},
    )
    assert "ad_sets[1].budget.amount" in errors(check(raw_campaign(), account=strict))  # 50 < 60


def test_campaign_daily_cap_minimum() -> None:
    raw = raw_campaign()
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": "daily", "amount": {"amount_minor": 1999, "currency": "USD"}}
    for ad_set in raw["ad_sets"]:
        ad_set["budget"] = None
    assert "budget.amount" in errors(check(raw))
    raw["budget"]["amount"]["amount_minor"] = 2000
    assert errors(check(raw)) == {}
    raw["budget"] = {"period": "lifetime", "amount": {"amount_minor": 1500, "currency": "USD"}}
    assert "lifetime spend cap" in errors(check(raw))["budget.amount"]


def test_account_currency_must_match() -> None:
    account = AccountStatus(account_id=ACCOUNT, reachable=True, can_spend=True, currency="EUR")
    assert "ad_sets[0].budget.amount" in errors(check(raw_campaign(), account=account))


def test_several_countries_need_a_language() -> None:
    raw = raw_campaign()
    raw["ad_sets"][0]["targeting"] = {"countries": ["US", "CA"]}
    assert "ad_sets[0].targeting.languages" in errors(check(raw))
    raw["ad_sets"][0]["targeting"]["languages"] = ["en"]
    assert errors(check(raw)) == {}
    raw["ad_sets"][0]["targeting"]["languages"] = ["en", "fr"]
    issues = check(raw)
    assert errors(issues) == {}
    assert "ad_sets[0].targeting.languages" in warnings(issues)


def test_ages_beyond_snaps_buckets() -> None:
    raw = raw_campaign()
    raw["ad_sets"][0]["targeting"] = {"countries": ["US"], "age_min": 51, "age_max": 60}
    issues = check(raw)
    assert "ad_sets[0].targeting.age_min" in errors(issues)
    raw["ad_sets"][0]["targeting"] = {"countries": ["US"], "age_min": 30, "age_max": 55}
    issues = check(raw)
    assert errors(issues) == {}
    assert "ad_sets[0].targeting.age_max" in warnings(issues)


@pytest.mark.parametrize(
    ("objective", "goal", "event", "path"),
    [
        ("app_promotion", None, None, "objective"),
        ("traffic", "impressions", None, "ad_sets[0].optimization_goal"),
        ("sales", "conversions", "initiate_checkout", "ad_sets[0].optimization_goal"),
        ("sales", None, None, "targets.snapchat.pixel_id"),
    ],
)
def test_objective_and_goal_support(objective: str, goal: str | None, event: str | None, path: str) -> None:
    raw = raw_campaign()
    raw["objective"] = objective
    raw["ad_sets"][0]["optimization_goal"] = goal
    raw["ad_sets"][0]["conversion_event"] = event
    assert path in errors(check(raw))


def test_app_promotion_is_reported_once() -> None:
    raw = raw_campaign()
    raw["objective"] = "app_promotion"
    assert [i.path for i in check(raw) if i.severity == "error"] == ["objective"]


def test_sales_with_pixel_passes() -> None:
    raw = raw_campaign()
    raw["objective"] = "sales"
    target = TARGET.model_copy(update={"pixel_id": "11111111-2222-4333-8444-555555555555"})
    assert errors(check(raw, target)) == {}


def test_special_ad_categories_are_refused() -> None:
    raw = raw_campaign()
    raw["special_ad_categories"] = ["housing"]
    assert "special_ad_categories" in errors(check(raw))


def test_square_image_is_not_a_top_snap() -> None:
    raw = raw_campaign()
    raw["media"][0].update(width=1080, height=1080)
    assert "media[0].width" in errors(check(raw))


def test_small_nine_by_sixteen_image_is_too_small() -> None:
    raw = raw_campaign()
    raw["media"][0].update(width=540, height=960)
    assert "media[0].width" in errors(check(raw))


def test_video_length_and_size() -> None:
    raw = raw_campaign()
    raw["media"][2]["duration_s"] = 181
    raw["media"][2]["size_bytes"] = 1024**3 + 1
    found = errors(check(raw))
    assert "media[2].duration_s" in found
    assert "media[2].size_bytes" in found


def test_unused_cover_is_not_checked() -> None:
    raw = raw_campaign()
    raw["media"][1].update(width=600, height=600)  # the video's cover: Snap does not use it
    assert errors(check(raw)) == {}


def test_image_above_five_megabytes() -> None:
    raw = raw_campaign()
    raw["media"][0]["size_bytes"] = 5 * 1024 * 1024 + 1
    assert "media[0].size_bytes" in errors(check(raw))


def test_schedule_sanity() -> None:
    raw = raw_campaign()
    raw["schedule"] = {
        "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-15T00:00:00Z",
        "timezone": "UTC",
    }
    assert "schedule.end_time" in errors(check(raw))
    raw["schedule"]["end_time"] = "2026-04-01T00:00:00Z"
    issues = check(raw)
    assert errors(issues) == {}
    assert "schedule.start_time" in warnings(issues)


def test_lifetime_budget_needs_an_end_time_on_the_ad_squad() -> None:
    raw = raw_campaign()
    raw["budget_level"] = "campaign"
    raw["budget"] = {"period": "lifetime", "amount": {"amount_minor": 100_000, "currency": "USD"}}
    for ad_set in raw["ad_sets"]:
        ad_set["budget"] = None
    raw["ad_sets"][1]["schedule"] = {"start_time": "2026-03-02T00:00:00Z", "timezone": "UTC"}
    found = check(raw)
    assert "ad_sets[1].schedule.end_time" in errors(found)
    assert "ad_sets[1].schedule.end_time" in {i.path for i in found}


def test_ad_set_outside_the_campaign_schedule_warns() -> None:
    raw = raw_campaign()
    raw["ad_sets"][0]["schedule"] = {
        "start_time": "2026-02-20T00:00:00Z",
        "end_time": "2026-04-30T00:00:00Z",
        "timezone": "UTC",
    }
    issues = check(raw)
    assert errors(issues) == {}
    assert {"ad_sets[0].schedule.start_time", "ad_sets[0].schedule.end_time"} <= set(warnings(issues))


def test_long_names_warn_that_they_are_shortened() -> None:
    raw = raw_campaign()
    raw["name"] = "n" * 380
    issues = check(raw)
    assert errors(issues) == {}
    assert "name" in warnings(issues)


def test_paths_are_json_serialisable_issues() -> None:
    raw = raw_campaign()
    raw["ad_sets"][1]["ads"][0]["creative"]["headline"] = "h" * 40
    issue = check(raw)[0]
    assert json.loads(issue.model_dump_json())["platform"] == "snapchat"
