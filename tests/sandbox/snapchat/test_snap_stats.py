"""Stats: recorded TOTAL / DAY shapes, day buckets in the ad account's time zone, alignment rules,
metrics that grow while an ad delivers, stable re-reads of closed days, breakdowns."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandbox.snapchat import fixtures as fx
from tests.support.clock import away_from_midnight

from .support import ACCOUNT, Snap

LA = ZoneInfo(fx.DEMO_TIMEZONE)
C, S, A1, A2 = (f"c0ffee00-0000-4000-8000-00000000000{i}" for i in range(1, 5))


def local_midnight(days_ago: int) -> datetime:
    today = datetime.now(LA).date() - timedelta(days=days_ago)
    return datetime(today.year, today.month, today.day, tzinfo=LA)


def iso(dt: datetime) -> str:
    return dt.isoformat()


async def seed_delivering_tree(snap: Snap) -> None:
    """A campaign with two approved ACTIVE ads that served for 48 h, from three days ago at noon."""
    start = local_midnight(3) + timedelta(hours=12)
    end = local_midnight(1) + timedelta(hours=12)
    base = "2020-01-01T00:00:00.000Z"
    await snap.seed(
        {
            "objects": [
                {
                    "kind": "campaign",
                    "id": C,
                    "fields": {
                        "name": "ar-stats",
                        "ad_account_id": ACCOUNT,
                        "status": "ACTIVE",
                        "start_time": base,
                    },
                },
                {
                    "kind": "adsquad",
                    "id": S,
                    "fields": {
                        "name": "s",
                        "campaign_id": C,
                        "status": "ACTIVE",
                        "type": "SNAP_ADS",
                        "start_time": base,
                    },
                },
                {
                    "kind": "ad",
                    "id": A1,
                    "fields": {
                        "name": "a1",
                        "ad_squad_id": S,
                        "status": "ACTIVE",
                        "type": "SNAP_AD",
                        "creative_id": A1,
                    },
                    "delivery": [[iso(start), iso(end)]],
                },
                {
                    "kind": "ad",
                    "id": A2,
                    "fields": {
                        "name": "a2",
                        "ad_squad_id": S,
                        "status": "ACTIVE",
                        "type": "SNAP_AD",
                        "creative_id": A2,
                    },
                    "delivery": [[iso(start), iso(end)]],
                },
            ]
        }
    )


async def stats(snap: Snap, kind: str, entity_id: str, **params: Any) -> Any:
    r = await snap.get(f"/v1/{kind}/{entity_id}/stats", **params)
    assert r.status_code == 200, r.text
    assert r.headers["X-Rate-Limit-Limit"] == "1666"
    return r.json()


@pytest.fixture(autouse=True)
async def _away_from_midnight() -> None:
    """These tests deliver and then read the account's "today": not across its midnight."""
    await away_from_midnight(str(LA))


async def test_total_shape_with_zero_delivery(snap: Snap) -> None:
    campaign = await snap.campaign()
    body = await stats(
        snap,
        "campaigns",
        campaign["id"],
        granularity="TOTAL",
        start_time="2026-07-01T00:00:00-07:00",
        end_time="2026-07-31T00:00:00-07:00",
    )
    assert list(body) == ["request_status", "request_id", "total_stats"]
    entry = body["total_stats"][0]
    assert entry["sub_request_status"] == "SUCCESS"
    stat = entry["total_stat"]
    assert list(stat) == [
        "id",
        "type",
        "granularity",
        "stats",
        "start_time",
        "end_time",
        "finalized_data_end_time",
    ]
    assert (stat["type"], stat["granularity"]) == ("CAMPAIGN", "TOTAL")
    assert stat["stats"] == {"impressions": 0, "spend": 0}
    assert stat["start_time"] == "2026-07-01T00:00:00.000-07:00"
    assert stat["finalized_data_end_time"].endswith(":00:00.000Z")


async def test_day_buckets_follow_the_account_time_zone_across_dst(snap: Snap) -> None:
    campaign = await snap.campaign()
    body = await stats(
        snap,
        "campaigns",
        campaign["id"],
        granularity="DAY",
        start_time="2026-10-31T00:00:00-07:00",
        end_time="2026-11-02T00:00:00-08:00",
    )
    stat = body["timeseries_stats"][0]["timeseries_stat"]
    assert list(stat) == [
        "id",
        "type",
        "granularity",
        "start_time",
        "end_time",
        "finalized_data_end_time",
        "timeseries",
        "attributing_party",
    ]
    assert [(b["start_time"], b["end_time"]) for b in stat["timeseries"]] == [
        ("2026-10-31T00:00:00.000-07:00", "2026-11-01T00:00:00.000-07:00"),
        ("2026-11-01T00:00:00.000-07:00", "2026-11-02T00:00:00.000-08:00"),
    ]
    assert stat["attributing_party"] == "SNAPCHAT"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (
            {"granularity": "DAY", "start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-03T00:00:00Z"},
            "midnight",
        ),
        (
            {"granularity": "HOUR", "start_time": "2026-11-01T00:30:00Z", "end_time": "2026-11-01T03:00:00Z"},
            "on the hour",
        ),
        (
            {
                "granularity": "DAY",
                "start_time": "2026-09-01T00:00:00-07:00",
                "end_time": "2026-10-15T00:00:00-07:00",
            },
            "at most 32 days",
        ),
        (
            {"granularity": "HOUR", "start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-09T00:00:00Z"},
            "at most 7 days",
        ),
        (
            {"start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T00:00:00Z"},
            "granularity is required",
        ),
        (
            {"granularity": "WEEK", "start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T00:00:00Z"},
            "granularity is required",
        ),
        ({"granularity": "TOTAL", "start_time": "2026-11-01T00:00:00Z"}, "end_time is required"),
        (
            {"granularity": "TOTAL", "start_time": "2026-11-01T00:00:00", "end_time": "2026-11-02T00:00:00Z"},
            "time zone",
        ),
        (
            {
                "granularity": "TOTAL",
                "start_time": "2026-11-02T00:00:00Z",
                "end_time": "2026-11-01T00:00:00Z",
            },
            "after",
        ),
        (
            {
                "granularity": "TOTAL",
                "start_time": "2026-11-01T00:00:00Z",
                "end_time": "2026-11-02T00:00:00Z",
                "fields": "impressions,likes",
            },
            "Invalid stats field",
        ),
        (
            {
                "granularity": "TOTAL",
                "start_time": "2026-11-01T00:00:00Z",
                "end_time": "2026-11-02T00:00:00Z",
                "breakdown": "campaign",
            },
            "Invalid breakdown",
        ),
    ],
)
async def test_invalid_stats_requests(snap: Snap, params: dict[str, str], fragment: str) -> None:
    campaign = await snap.campaign()
    r = await snap.get(f"/v1/campaigns/{campaign['id']}/stats", **params)
    assert r.status_code == 400
    assert fragment in r.json()["debug_message"]


async def test_day_alignment_switch(snap: Snap) -> None:
    campaign = await snap.campaign()
    await snap.switches(stats_day_alignment=False)
    body = await stats(
        snap,
        "campaigns",
        campaign["id"],
        granularity="DAY",
        start_time="2026-11-01T00:00:00Z",
        end_time="2026-11-03T00:00:00Z",
    )
    buckets = body["timeseries_stats"][0]["timeseries_stat"]["timeseries"]
    # day-long steps from the given start, written in the account's zone; the last one is cut at end_time
    assert [b["start_time"] for b in buckets] == [
        "2026-10-31T17:00:00.000-07:00",
        "2026-11-01T17:00:00.000-08:00",
    ]
    assert buckets[-1]["end_time"] == "2026-11-02T16:00:00.000-08:00"


async def test_closed_days_are_stable_and_days_sum_to_the_total(snap: Snap) -> None:
    await snap.switches(metrics_impressions_per_s=100.0)
    await seed_delivering_tree(snap)
    window = {
        "start_time": iso(local_midnight(3)),
        "end_time": iso(local_midnight(-1)),
        "fields": "impressions,swipes,spend",
    }
    first = (await stats(snap, "campaigns", C, granularity="DAY", **window))["timeseries_stats"][0][
        "timeseries_stat"
    ]
    await asyncio.sleep(0.3)
    second = (await stats(snap, "campaigns", C, granularity="DAY", **window))["timeseries_stats"][0][
        "timeseries_stat"
    ]
    days1 = [b["stats"] for b in first["timeseries"]]
    days2 = [b["stats"] for b in second["timeseries"]]
    assert len(days1) == 4
    assert days1[:3] == days2[:3]  # closed days never change
    assert days1[1]["impressions"] > days1[0]["impressions"] > 0  # a full day beats a half day
    assert days2[3]["impressions"] > days1[3]["impressions"]  # today keeps growing while the ads deliver
    for day in days2:
        assert isinstance(day["spend"], int)
        assert day["spend"] == day["impressions"] * 5000  # micro-currency at a $5 CPM
    total = (await stats(snap, "campaigns", C, granularity="TOTAL", **window))["total_stats"][0]["total_stat"]
    closed = {k: sum(d[k] for d in days1[:3]) for k in days1[0]}
    assert total["stats"]["impressions"] >= closed["impressions"] + days2[3]["impressions"]
    three_days = {"start_time": iso(local_midnight(3)), "end_time": iso(local_midnight(0))}
    closed_total = await stats(
        snap, "campaigns", C, granularity="TOTAL", **three_days, fields="impressions,swipes,spend"
    )
    assert closed_total["total_stats"][0]["total_stat"]["stats"] == closed


async def test_breakdown_by_ad_and_levels(snap: Snap) -> None:
    await seed_delivering_tree(snap)
    window = {
        "granularity": "TOTAL",
        "start_time": iso(local_midnight(3)),
        "end_time": iso(local_midnight(0)),
    }
    body = await stats(snap, "campaigns", C, breakdown="ad", **window)
    stat = body["total_stats"][0]["total_stat"]
    rows = stat["breakdown_stats"]["ad"]
    assert sorted(r["id"] for r in rows) == [A1, A2]
    assert sum(r["stats"]["impressions"] for r in rows) == stat["stats"]["impressions"]
    squad = (await stats(snap, "adsquads", S, **window))["total_stats"][0]["total_stat"]
    ad = (await stats(snap, "ads", A1, **window))["total_stats"][0]["total_stat"]
    account = (await stats(snap, "adaccounts", ACCOUNT, **window))["total_stats"][0]["total_stat"]
    assert (squad["type"], ad["type"], account["type"]) == ("AD_SQUAD", "AD", "AD_ACCOUNT")
    assert squad["stats"] == stat["stats"] == account["stats"]
    assert ad["stats"]["impressions"] < stat["stats"]["impressions"]
    daily = await stats(
        snap,
        "adsquads",
        S,
        breakdown="ad",
        granularity="DAY",
        start_time=window["start_time"],
        end_time=window["end_time"],
    )
    assert len(daily["timeseries_stats"][0]["timeseries_stat"]["breakdown_stats"]["ad"][0]["timeseries"]) == 3


async def test_a_fresh_ad_grows_only_once_approved_and_stops_when_paused(snap: Snap) -> None:
    await snap.switches(metrics_impressions_per_s=200.0)
    await snap.config(review_delay_s=1.0)
    tree = await snap.tree()
    window = {
        "granularity": "TOTAL",
        "start_time": iso(local_midnight(0)),
        "end_time": iso(local_midnight(-1)),
    }
    pending = (await stats(snap, "ads", tree["ad"]["id"], **window))["total_stats"][0]["total_stat"]["stats"]
    assert pending["impressions"] == 0  # under review: no delivery
    await asyncio.sleep(1.2)
    grown = (await stats(snap, "ads", tree["ad"]["id"], **window))["total_stats"][0]["total_stat"]["stats"]
    assert grown["impressions"] > 0
    squad = tree["adsquad"]
    paused = dict(tree["ad"], status="PAUSED")
    assert (await snap.put(f"/v1/adsquads/{squad['id']}/ads", {"ads": [paused]})).json()[
        "request_status"
    ] == "SUCCESS"
    at_pause = (await stats(snap, "ads", tree["ad"]["id"], **window))["total_stats"][0]["total_stat"]["stats"]
    await asyncio.sleep(0.2)
    later = (await stats(snap, "ads", tree["ad"]["id"], **window))["total_stats"][0]["total_stat"]["stats"]
    assert later == at_pause


async def test_lifetime_and_hour_granularity(snap: Snap) -> None:
    await seed_delivering_tree(snap)
    lifetime = await stats(snap, "ads", A1, granularity="LIFETIME")
    stat = lifetime["lifetime_stats"][0]["lifetime_stat"]
    assert stat["granularity"] == "LIFETIME" and stat["stats"]["impressions"] > 0
    start = local_midnight(2) + timedelta(hours=12)  # noon: no daylight-saving change in the 3 hours
    hourly = await stats(
        snap, "ads", A1, granularity="HOUR", start_time=iso(start), end_time=iso(start + timedelta(hours=3))
    )
    assert len(hourly["timeseries_stats"][0]["timeseries_stat"]["timeseries"]) == 3


async def test_metrics_growth_can_be_disabled(snap: Snap) -> None:
    await snap.config(metrics_growth=False)
    await seed_delivering_tree(snap)
    body = await stats(
        snap,
        "campaigns",
        C,
        granularity="TOTAL",
        start_time=iso(local_midnight(3)),
        end_time=iso(local_midnight(0)),
    )
    assert body["total_stats"][0]["total_stat"]["stats"] == {"impressions": 0, "spend": 0}
