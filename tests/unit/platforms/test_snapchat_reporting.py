"""Snapchat reporting, pure parts: windows, DAY parameters in the account's zone, recorded stats shape."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from adrelay.platforms.snapchat.reporting import normalise, stats_params, windows

PARIS = ZoneInfo("Europe/Paris")

# platform-apis §3.9 / recorded interaction 6 (GET /v1/ads/bb05…/stats?granularity=DAY), two buckets
# kept verbatim, a third with delivery added in the same shape.
RECORDED_DAY = {
    "request_status": "SUCCESS",
    "request_id": "4f7017ee-4db1-4ead-82ca-124f2b124223",
    "timeseries_stats": [
        {
            "sub_request_status": "SUCCESS",
            "timeseries_stat": {
                "id": "bb05b099-140f-47ad-ab96-827960fbdf16",
                "type": "AD",
                "granularity": "DAY",
                "start_time": "2025-07-01T00:00:00.000+02:00",
                "end_time": "2025-07-31T00:00:00.000+02:00",
                "finalized_data_end_time": "2025-07-29T09:00:00.000Z",
                "timeseries": [
                    {
                        "start_time": "2025-07-01T00:00:00.000+02:00",
                        "end_time": "2025-07-02T00:00:00.000+02:00",
                        "stats": {"impressions": 0, "spend": 0},
                    },
                    {
                        "start_time": "2025-07-02T00:00:00.000+02:00",
                        "end_time": "2025-07-03T00:00:00.000+02:00",
                        "stats": {"impressions": 0, "spend": 0},
                    },
                    {
                        "start_time": "2025-07-03T00:00:00.000+02:00",
                        "end_time": "2025-07-04T00:00:00.000+02:00",
                        "stats": {
                            "impressions": 1200,
                            "swipes": 31,
                            "spend": 6_000_123,
                            "conversion_purchases": 2,
                            "conversion_sign_ups": 1,
                        },
                    },
                ],
            },
        }
    ],
}


def test_recorded_day_series_becomes_one_row_per_day_in_the_account_zone() -> None:
    rows = normalise("ad", "bb05b099-140f-47ad-ab96-827960fbdf16", RECORDED_DAY, PARIS)
    assert [r.date for r in rows] == [date(2025, 7, 1), date(2025, 7, 2), date(2025, 7, 3)]
    last = rows[-1]
    assert (last.impressions, last.clicks, last.spend_micros, last.conversions) == (1200, 31, 6_000_123, 3)
    assert last.level == "ad" and last.external_id == "bb05b099-140f-47ad-ab96-827960fbdf16"
    assert last.raw["end_time"] == "2025-07-04T00:00:00.000+02:00"


def test_day_params_are_local_midnights_with_the_offset() -> None:
    params = stats_params(date(2025, 7, 1), date(2025, 7, 30), PARIS)
    assert params["granularity"] == "DAY"
    assert params["start_time"] == "2025-07-01T00:00:00+02:00"
    assert params["end_time"] == "2025-07-31T00:00:00+02:00"  # the recorded request's range
    assert params["fields"].split(",")[:3] == ["impressions", "swipes", "spend"]


def test_day_params_follow_daylight_saving() -> None:
    params = stats_params(date(2025, 10, 25), date(2025, 10, 26), PARIS)
    assert params["start_time"] == "2025-10-25T00:00:00+02:00"
    assert params["end_time"] == "2025-10-27T00:00:00+01:00"


def test_windows_cover_the_range_in_31_day_pieces() -> None:
    assert windows(date(2025, 1, 1), date(2025, 1, 1)) == [(date(2025, 1, 1), date(2025, 1, 1))]
    pieces = windows(date(2025, 1, 1), date(2025, 3, 15))
    assert pieces[0] == (date(2025, 1, 1), date(2025, 1, 31))
    assert pieces[1] == (date(2025, 2, 1), date(2025, 3, 3))
    assert pieces[-1][1] == date(2025, 3, 15)
    assert sum((b - a).days + 1 for a, b in pieces) == 74
