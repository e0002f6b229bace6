"""How Meta's usage headers slow us down before Meta throttles, and how writes are encoded."""

from __future__ import annotations

import json

from adrelay.platforms.http import Limiter
from adrelay.platforms.meta.client import form
from adrelay.platforms.meta.limits import EXHAUSTED_HOLD_S, SLOWDOWN_MAX_S, MetaLimits
from adrelay.platforms.settings import MetaSettings

LIMITS = MetaLimits(MetaSettings(app_id="42", slow_down_at_pct=75), Limiter())


def buc(pct: int, regain: int = 0, kind: str = "ads_management") -> str:
    entry = {"type": kind, "call_count": pct, "total_cputime": 1, "total_time": 1}
    return json.dumps({"1000": [{**entry, "estimated_time_to_regain_access": regain}]})


def test_low_usage_holds_nothing_back() -> None:
    headers = {
        "X-Business-Use-Case-Usage": buc(30),
        "X-Ad-Account-Usage": json.dumps({"acc_id_util_pct": 10.5, "reset_time_duration": 100}),
        "X-App-Usage": json.dumps({"call_count": 5, "total_cputime": 3, "total_time": 4}),
    }
    assert LIMITS.blocks(headers, "act_1000") == []


def test_usage_above_the_threshold_slows_the_scope_more_the_closer_it_gets() -> None:
    at_80 = dict(
        (s, secs) for s, secs, _ in LIMITS.blocks({"X-Business-Use-Case-Usage": buc(80)}, "act_1000")
    )
    at_95 = dict(
        (s, secs) for s, secs, _ in LIMITS.blocks({"X-Business-Use-Case-Usage": buc(95)}, "act_1000")
    )
    assert 0 < at_80["meta:account:act_1000"] < at_95["meta:account:act_1000"] <= SLOWDOWN_MAX_S


def test_a_throttled_scope_waits_for_metas_estimate() -> None:
    blocks = LIMITS.blocks({"x-business-use-case-usage": buc(100, regain=12)}, None)
    assert blocks == [("meta:account:act_1000", 720.0, 100.0)]


def test_insights_usage_holds_the_insights_scope() -> None:
    blocks = LIMITS.blocks({"X-Business-Use-Case-Usage": buc(100, regain=1, kind="ads_insights")}, "act_7")
    assert blocks == [("meta:insights:act_7", 60.0, 100.0)]


def test_account_and_app_headers() -> None:
    headers = {
        "X-Ad-Account-Usage": json.dumps({"acc_id_util_pct": 100, "reset_time_duration": 240}),
        "X-App-Usage": json.dumps({"call_count": 90, "total_cputime": 10, "total_time": 10}),
    }
    blocks = {scope: (secs, pct) for scope, secs, pct in LIMITS.blocks(headers, "act_5")}
    assert blocks["meta:account:act_5"] == (240.0, 100.0)
    assert 0 < blocks["meta:app:42"][0] < EXHAUSTED_HOLD_S


def test_scopes_a_call_counts_against() -> None:
    assert [limit.scope for limit in LIMITS.for_call("act_5")] == ["meta:app:42", "meta:account:act_5"]
    assert [limit.scope for limit in LIMITS.for_call("act_5", insights=True)] == [
        "meta:app:42",
        "meta:insights:act_5",
    ]


def test_writes_are_form_encoded_with_nested_values_as_json() -> None:
    encoded = form(
        {
            "name": "Spring [ar1]",
            "daily_budget": 2000,
            "is_adset_budget_sharing_enabled": False,
            "special_ad_categories": [],
            "targeting": {"geo_locations": {"countries": ["US"]}, "age_min": 25},
            "skipped": None,
        }
    )
    assert encoded == {
        "name": "Spring [ar1]",
        "daily_budget": "2000",
        "is_adset_budget_sharing_enabled": "false",
        "special_ad_categories": "[]",
        "targeting": '{"geo_locations":{"countries":["US"]},"age_min":25}',
    }
