"""Meta Insights rows → adrelay's daily metrics: exact micros, conversions, levels."""

from __future__ import annotations

from datetime import date

import pytest

from adrelay.platforms.common import major_to_micros
from adrelay.platforms.meta.reporting import insights_params, normalise

ROW = {
    "adset_id": "120210000000000123",
    "impressions": "1234",
    "clicks": "56",
    "spend": "12.34",
    "account_currency": "USD",
    "actions": [
        {"action_type": "link_click", "value": "40"},
        {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "3"},
        {"action_type": "offsite_conversion.fb_pixel_lead", "value": "2"},
        {"action_type": "purchase", "value": "3"},
    ],
    "date_start": "2025-01-01",
    "date_stop": "2025-01-01",
}


def test_a_row_is_normalised_with_exact_micros_and_pixel_conversions_counted_once() -> None:
    metrics = normalise("ad_set", ROW)
    assert metrics.date == date(2025, 1, 1)
    assert (metrics.level, metrics.external_id) == ("ad_set", "120210000000000123")
    assert (metrics.impressions, metrics.clicks, metrics.conversions) == (1234, 56, 5)
    assert metrics.spend_micros == 12_340_000
    assert metrics.raw == ROW


@pytest.mark.parametrize(
    ("spend", "micros"),
    [
        ("0.01", 10_000),
        ("1234", 1_234_000_000),
        ("0.1", 100_000),
        ("99999999.99", 99_999_999_990_000),
        ("", 0),
    ],
)
def test_spend_in_major_units_becomes_integer_micros(spend: str, micros: int) -> None:
    assert major_to_micros(spend) == micros


def test_a_row_without_actions_or_delivery() -> None:
    metrics = normalise("campaign", {"campaign_id": "9", "spend": "0", "date_start": "2025-02-03"})
    assert (metrics.impressions, metrics.clicks, metrics.spend_micros, metrics.conversions) == (0, 0, 0, 0)


def test_params_ask_for_one_row_per_day_and_level() -> None:
    params = insights_params("ad", date(2025, 1, 1), date(2025, 1, 7))
    assert params["level"] == "ad" and params["time_increment"] == 1
    assert params["time_range"] == {"since": "2025-01-01", "until": "2025-01-07"}
    assert params["fields"].split(",")[0] == "ad_id"
