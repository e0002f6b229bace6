"""TikTok report rows → normalised daily metrics: exact spend micros, 30-day windows, task CSV."""

from __future__ import annotations

from datetime import date

import pytest

from adrelay.platforms.tiktok.reporting import csv_rows, normalise, report_params, spend_micros, windows


@pytest.mark.parametrize(
    "spend, micros",
    [
        ("12.34", 12_340_000),
        ("0.01", 10_000),
        ("1500", 1_500_000_000),
        ("0", 0),
        ("", 0),
        (None, 0),
        ("3.1415926", 3_141_593),
    ],
)
def test_spend_becomes_integer_micros_exactly(spend: str | None, micros: int) -> None:
    assert spend_micros(spend) == micros


def test_a_row_is_normalised_with_its_raw_copy() -> None:
    row = {
        "dimensions": {"adgroup_id": "1800000000000000002", "stat_time_day": "2030-04-02 00:00:00"},
        "metrics": {"spend": "7.05", "impressions": "1204", "clicks": "31", "conversion": "2"},
    }
    metrics = normalise("ad_set", row)
    assert (metrics.date, metrics.level, metrics.external_id) == (
        date(2030, 4, 2),
        "ad_set",
        "1800000000000000002",
    )
    assert (metrics.impressions, metrics.clicks, metrics.spend_micros, metrics.conversions) == (
        1204,
        31,
        7_050_000,
        2,
    )
    assert metrics.raw == row


def test_ranges_are_cut_into_windows_of_thirty_days() -> None:
    assert windows(date(2030, 1, 1), date(2030, 1, 1)) == [(date(2030, 1, 1), date(2030, 1, 1))]
    cut = windows(date(2030, 1, 1), date(2030, 3, 5))
    assert cut == [
        (date(2030, 1, 1), date(2030, 1, 30)),
        (date(2030, 1, 31), date(2030, 3, 1)),
        (date(2030, 3, 2), date(2030, 3, 5)),
    ]
    with pytest.raises(ValueError):
        windows(date(2030, 1, 2), date(2030, 1, 1))


def test_report_params_ask_the_level_by_day_for_one_campaign() -> None:
    params = report_params(
        "7300000000000000101", "1800000000000000001", "ad", date(2030, 1, 1), date(2030, 1, 7)
    )
    assert (params["data_level"], params["dimensions"]) == ("AUCTION_AD", ["ad_id", "stat_time_day"])
    assert params["filtering"] == [
        {"field_name": "campaign_ids", "filter_type": "IN", "filter_value": '["1800000000000000001"]'}
    ]
    assert (params["start_date"], params["end_date"]) == ("2030-01-01", "2030-01-07")


def test_the_task_csv_reads_like_the_integrated_report() -> None:
    text = (
        "ad_id,stat_time_day,spend,impressions,clicks,conversion\r\n42,2030-01-01 00:00:00,1.50,100,3,0\r\n"
    )
    (row,) = csv_rows(text, "ad_id")
    assert normalise("ad", row).spend_micros == 1_500_000 and normalise("ad", row).external_id == "42"
