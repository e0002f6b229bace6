"""Reporting: day buckets in the advertiser's time zone, stable closed days, growth only while delivering."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox.tiktok.fixtures import ADVERTISER_ID
from tests.sandbox.tiktok.tiktok_support import TikTokClient
from tests.support.clock import away_from_midnight

NY = ZoneInfo("America/New_York")
CAMPAIGN, ADGROUP, AD = "1790000000000000001", "1790000000000000002", "1790000000000000003"


def ny_today() -> date:
    return datetime.now(NY).date()


async def seed_history(
    tt: TikTokClient, days_ago: int = 3, ad_status: str = "ENABLE", budget: float = 1_000_000.0
) -> date:
    """A campaign tree whose ad started delivering at 23:00 New York time `days_ago` days ago."""
    first_day = ny_today() - timedelta(days=days_ago)
    start = datetime(first_day.year, first_day.month, first_day.day, 23, tzinfo=NY).timestamp()
    start_utc = datetime.fromtimestamp(start, ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S")
    objects = [
        {
            "kind": "campaign",
            "id": CAMPAIGN,
            "name": "ar-hist",
            "account_id": ADVERTISER_ID,
            "created_at": start,
            "fields": {"objective_type": "TRAFFIC", "budget_mode": "BUDGET_MODE_INFINITE", "budget": 0.0},
        },
        {
            "kind": "adgroup",
            "id": ADGROUP,
            "name": "ar-hist-g",
            "parent_id": CAMPAIGN,
            "account_id": ADVERTISER_ID,
            "created_at": start,
            "fields": {
                "budget_mode": "BUDGET_MODE_DAY",
                "budget": budget,
                "schedule_type": "SCHEDULE_FROM_NOW",
                "schedule_start_time": start_utc,
                "promotion_type": "WEBSITE",
                "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
                "optimization_goal": "CLICK",
                "billing_event": "CPC",
                "pacing": "PACING_MODE_SMOOTH",
                "location_ids": ["6252001"],
            },
        },
        {
            "kind": "ad",
            "id": AD,
            "name": "ar-hist-ad",
            "parent_id": ADGROUP,
            "account_id": ADVERTISER_ID,
            "created_at": start,
            "status": ad_status,
            "fields": {"ad_text": "hello", "review_status": "APPROVED"},
        },
    ]
    await tt.control("POST", "seed", {"objects": objects})
    return first_day


async def report(tt: TikTokClient, **params: object) -> dict:
    base = {
        "advertiser_id": ADVERTISER_ID,
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": ["ad_id", "stat_time_day"],
        "metrics": [
            "spend",
            "impressions",
            "clicks",
            "ctr",
            "cpc",
            "cpm",
            "conversion",
            "ad_name",
            "campaign_name",
        ],
    }
    base.update(params)
    return await tt.get("/report/integrated/get/", {k: v for k, v in base.items() if v is not None})


@pytest.fixture(autouse=True)
async def _away_from_midnight() -> None:
    """These tests deliver and then read the account's "today": not across its midnight."""
    await away_from_midnight(str(NY))


async def test_day_buckets_follow_the_advertiser_time_zone(tt: TikTokClient) -> None:
    first_day = await seed_history(tt)
    res = await report(tt, start_date=first_day.isoformat(), end_date=ny_today().isoformat())
    assert res["code"] == 0, res
    rows = {r["dimensions"]["stat_time_day"]: r["metrics"] for r in res["data"]["list"]}
    days = [(first_day + timedelta(days=i)).isoformat() + " 00:00:00" for i in range(4)]
    assert list(rows) == days
    first, full = rows[days[0]], rows[days[1]]
    # One hour of delivery on the first New York day, a whole day on the next one.
    assert 0 < int(first["impressions"]) < int(full["impressions"]) / 10
    assert all(isinstance(v, str) for v in full.values())
    assert full["ad_name"] == "ar-hist-ad" and full["campaign_name"] == "ar-hist"
    assert len(full["spend"].split(".")[1]) == 2
    assert res["data"]["list"][0]["dimensions"]["ad_id"] == AD


async def test_daily_budget_caps_spend(tt: TikTokClient) -> None:
    first_day = await seed_history(tt, budget=50.0)
    closed = (first_day + timedelta(days=1)).isoformat()
    res = await report(tt, start_date=closed, end_date=closed, metrics=["spend", "impressions"])
    spend = float(res["data"]["list"][0]["metrics"]["spend"])
    assert 49.0 < spend <= 50.0


async def test_closed_days_read_the_same_and_today_grows(tt: TikTokClient) -> None:
    await tt.switches(metrics_rate=20.0)
    first_day = await seed_history(tt, days_ago=2, ad_status="ENABLE")
    closed = (first_day + timedelta(days=1)).isoformat()
    lifetime = {"dimensions": ["ad_id"], "query_lifetime": True, "metrics": ["impressions", "spend"]}
    before_closed = await report(tt, start_date=closed, end_date=closed)
    before_life = await report(tt, **lifetime)
    await asyncio.sleep(1.1)
    after_closed = await report(tt, start_date=closed, end_date=closed)
    after_life = await report(tt, **lifetime)
    assert before_closed["data"]["list"] == after_closed["data"]["list"] != []
    grew = int(after_life["data"]["list"][0]["metrics"]["impressions"])
    assert grew > int(before_life["data"]["list"][0]["metrics"]["impressions"])


async def test_disabled_or_unfunded_objects_do_not_grow(tt: TikTokClient) -> None:
    await tt.switches(metrics_rate=20.0)
    await seed_history(tt, days_ago=1, ad_status="DISABLE")
    lifetime = {"dimensions": ["ad_id"], "query_lifetime": True, "metrics": ["impressions"]}
    assert (await report(tt, **lifetime))["data"]["list"] == []
    await tt.post(
        "/ad/status/update/", {"advertiser_id": ADVERTISER_ID, "ad_ids": [AD], "operation_status": "ENABLE"}
    )
    await asyncio.sleep(0.3)
    first = int((await report(tt, **lifetime))["data"]["list"][0]["metrics"]["impressions"])
    assert first > 0
    await tt.fault({"effect": "unfund", "match": {"path": "/advertiser/info/"}, "count": 1})
    info = await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]})
    assert info["data"]["list"][0]["balance"] == 0.0
    stopped = int((await report(tt, **lifetime))["data"]["list"][0]["metrics"]["impressions"])
    await asyncio.sleep(0.3)
    assert int((await report(tt, **lifetime))["data"]["list"][0]["metrics"]["impressions"]) == stopped
    rows = (await tt.get("/ad/get/", {"advertiser_id": ADVERTISER_ID}))["data"]["list"]
    assert rows[0]["secondary_status"] == "AD_STATUS_BALANCE_EXCEED"


async def test_levels_filtering_and_totals(tt: TikTokClient) -> None:
    first_day = await seed_history(tt)
    window = {"start_date": first_day.isoformat(), "end_date": ny_today().isoformat()}
    res = await report(
        tt,
        data_level="AUCTION_CAMPAIGN",
        dimensions=["campaign_id"],
        metrics=["spend", "impressions"],
        enable_total_metrics=True,
        **window,
    )
    assert res["code"] == 0 and [r["dimensions"] for r in res["data"]["list"]] == [{"campaign_id": CAMPAIGN}]
    assert res["data"]["total_metrics"]["impressions"] == res["data"]["list"][0]["metrics"]["impressions"]
    res = await report(
        tt,
        data_level="AUCTION_ADVERTISER",
        dimensions=["advertiser_id", "stat_time_day"],
        metrics=["spend"],
        **window,
    )
    assert res["code"] == 0 and len(res["data"]["list"]) == 4
    flt = [{"field_name": "campaign_ids", "filter_type": "IN", "filter_value": '["1"]'}]
    res = await report(tt, filtering=flt, **window)
    assert res["code"] == 0 and res["data"]["list"] == []
    flt = [{"field_name": "campaign_ids", "filter_type": "IN", "filter_value": f'["{CAMPAIGN}"]'}]
    assert len((await report(tt, filtering=flt, **window))["data"]["list"]) == 4
    res = await report(
        tt,
        dimensions=["ad_id", "stat_time_hour"],
        start_date=window["end_date"],
        end_date=window["end_date"],
        metrics=["impressions"],
    )
    assert res["code"] == 0 and all(
        r["dimensions"]["stat_time_hour"].endswith(":00:00") for r in res["data"]["list"]
    )


async def test_report_validation(tt: TikTokClient) -> None:
    today = ny_today()
    cases = [
        {"start_date": (today - timedelta(days=30)).isoformat(), "end_date": today.isoformat()},
        {
            "dimensions": ["ad_id", "stat_time_hour"],
            "start_date": (today - timedelta(days=1)).isoformat(),
            "end_date": today.isoformat(),
        },
        {"start_date": today.isoformat(), "end_date": (today - timedelta(days=1)).isoformat()},
        {"start_date": "2026/01/01", "end_date": today.isoformat()},
        {"query_lifetime": True},
        {"dimensions": ["campaign_id"], "start_date": today.isoformat(), "end_date": today.isoformat()},
        {"metrics": ["purchases_roas"], "start_date": today.isoformat(), "end_date": today.isoformat()},
        {"report_type": "AUDIENCE", "start_date": today.isoformat(), "end_date": today.isoformat()},
        {"data_level": "CAMPAIGN", "start_date": today.isoformat(), "end_date": today.isoformat()},
        {"dimensions": None},
    ]
    for case in cases:
        res = await report(tt, **case)
        assert res["code"] == 40002, (case, res)
    ok = await report(tt, start_date=(today - timedelta(days=29)).isoformat(), end_date=today.isoformat())
    assert ok["code"] == 0 and ok["data"]["list"] == []


async def test_async_report_task(tt: TikTokClient) -> None:
    await tt.switches(report_task_delay_s=0.3)
    first_day = await seed_history(tt)
    body = {
        "advertiser_id": ADVERTISER_ID,
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": ["ad_id", "stat_time_day"],
        "metrics": ["spend", "impressions"],
        "start_date": first_day.isoformat(),
        "end_date": ny_today().isoformat(),
    }
    created = await tt.post("/report/task/create/", body)
    assert created["code"] == 0
    task_id = created["data"]["task_id"]
    check = await tt.get("/report/task/check/", {"advertiser_id": ADVERTISER_ID, "task_id": task_id})
    assert check["data"]["status"] in ("QUEUING", "PROCESSING")
    early = await tt.get("/report/task/download/", {"advertiser_id": ADVERTISER_ID, "task_id": task_id})
    assert early["code"] == 40201
    await asyncio.sleep(0.35)
    check = await tt.get("/report/task/check/", {"advertiser_id": ADVERTISER_ID, "task_id": task_id})
    assert check["data"]["status"] == "SUCCESS"
    resp = await tt.http.get(
        "/open_api/v1.3/report/task/download/",
        params={"advertiser_id": ADVERTISER_ID, "task_id": task_id},
        headers={"Access-Token": tt.token or ""},
    )
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows[0] == ["ad_id", "stat_time_day", "spend", "impressions"] and len(rows) == 5
    assert (await tt.get("/report/task/check/", {"advertiser_id": ADVERTISER_ID, "task_id": "1"}))[
        "code"
    ] == 40007


async def test_budget_updates_must_cover_105_percent_of_todays_spend(tt: TikTokClient) -> None:
    await tt.switches(metrics_rate=1000.0)
    await seed_history(tt, days_ago=1)
    today = ny_today().isoformat()
    res = await report(
        tt,
        data_level="AUCTION_ADGROUP",
        dimensions=["adgroup_id"],
        metrics=["spend"],
        start_date=today,
        end_date=today,
    )
    spent = float(res["data"]["list"][0]["metrics"]["spend"])
    assert spent >= 20.0
    low = await tt.post(
        "/adgroup/update/", {"advertiser_id": ADVERTISER_ID, "adgroup_id": ADGROUP, "budget": round(spent, 2)}
    )
    assert low["code"] == 40002 and "105%" in low["message"]
    ok = await tt.post(
        "/adgroup/update/",
        {"advertiser_id": ADVERTISER_ID, "adgroup_id": ADGROUP, "budget": round(spent * 1.2 + 1, 2)},
    )
    assert ok["code"] == 0, ok
