"""Ad groups: flat targeting, required fields, objective/goal/billing rules, budgets, schedules, lookups."""

from __future__ import annotations

import time

import pytest

from sandbox.tiktok.fixtures import ADVERTISER_ID, PIXEL_ID
from tests.sandbox.tiktok.tiktok_support import TikTokClient, adgroup_body


async def create(tt: TikTokClient, campaign_id: str, /, **overrides: object) -> dict:
    return await tt.post("/adgroup/create/", adgroup_body(campaign_id, **overrides))


def future(days: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + days * 86400))


async def test_create_answers_the_full_adgroup_object(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], operation_status="DISABLE")
    assert res["code"] == 0, res
    d = res["data"]
    assert d["adgroup_id"].isdigit() and len(d["adgroup_id"]) == 19
    assert d["campaign_id"] == c["campaign_id"] and d["campaign_name"] == c["campaign_name"]
    assert d["location_ids"] == ["6252001"] and d["gender"] == "GENDER_UNLIMITED"
    assert d["age_groups"] == ["AGE_18_24", "AGE_25_34"] and d["languages"] == ["en"]
    assert d["budget"] == 50.0 and d["budget_mode"] == "BUDGET_MODE_DAY" and d["billing_event"] == "CPC"
    assert d["schedule_start_time"] == "2026-01-01 00:00:00" and d["schedule_end_time"] is None
    assert d["operation_status"] == "DISABLE" and d["secondary_status"] == "ADGROUP_STATUS_DISABLE"
    assert len(d["dayparting"]) == 336
    assert "targeting" not in d
    rows = await tt.objects("adgroup")
    assert rows[0]["parent_id"] == c["campaign_id"] and rows[0]["name"] == "ar-adgroup"


async def test_seed_style_targeting_object_is_refused(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], targeting={"geo_locations": {"countries": ["US"]}})
    assert res["code"] == 40002 and res["message"] == "targeting: Unknown field."


async def test_seed_style_adgroup_payload_is_refused(tt: TikTokClient) -> None:
    """The seed's prepare_tiktok_adgroup_data: no billing_event/schedule/pacing/budget_mode/location_ids."""
    c = await tt.campaign()
    seed_payload = {
        "advertiser_id": ADVERTISER_ID,
        "campaign_id": c["campaign_id"],
        "adgroup_name": "seed",
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
        "budget": 50.0,
        "bid_type": "BID_TYPE_NO_BID",
        "optimization_goal": "CONVERT",
        "operation_status": "DISABLE",
    }
    res = await tt.post("/adgroup/create/", seed_payload)
    assert res["code"] == 40002 and "Missing data for required field." in res["message"]


@pytest.mark.parametrize(
    "missing",
    [
        "campaign_id",
        "adgroup_name",
        "billing_event",
        "budget",
        "budget_mode",
        "optimization_goal",
        "pacing",
        "schedule_start_time",
        "schedule_type",
        "location_ids",
        "promotion_type",
    ],
)
async def test_required_fields(tt: TikTokClient, missing: str) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], **{missing: None})
    assert res["code"] == 40002
    assert res["message"] == f"{missing}: Missing data for required field."


async def test_promotion_type_optional_for_reach_video_views_engagement(tt: TikTokClient) -> None:
    for objective, goal, billing in (
        ("REACH", "REACH", "CPM"),
        ("VIDEO_VIEWS", "ENGAGED_VIEW", "OCPM"),
        ("ENGAGEMENT", "FOLLOWERS", "OCPM"),
    ):
        c = await tt.campaign(objective_type=objective, campaign_name=objective)
        res = await create(
            tt, c["campaign_id"], promotion_type=None, optimization_goal=goal, billing_event=billing
        )
        assert res["code"] == 0, (objective, res)


async def test_budget_fields_ignored_under_campaign_budget_optimization(tt: TikTokClient) -> None:
    c = await tt.campaign(budget_optimize_on=True)
    res = await create(tt, c["campaign_id"], budget=None, budget_mode=None, pacing=None)
    assert res["code"] == 0, res
    assert res["data"]["budget_mode"] == "BUDGET_MODE_INFINITE"


async def test_convert_needs_pixel_event_and_ocpm(tt: TikTokClient) -> None:
    c = await tt.campaign(objective_type="WEB_CONVERSIONS")
    base = {"optimization_goal": "CONVERT", "billing_event": "OCPM"}
    res = await create(tt, c["campaign_id"], **base)
    assert res["message"] == "pixel_id: Missing data for required field."
    res = await create(tt, c["campaign_id"], pixel_id=PIXEL_ID, **base)
    assert res["message"] == "optimization_event: Missing data for required field."
    res = await create(
        tt,
        c["campaign_id"],
        pixel_id=PIXEL_ID,
        optimization_event="SHOPPING",
        optimization_goal="CONVERT",
        billing_event="CPC",
    )
    assert res["code"] == 40002 and res["message"].startswith("billing_event:")
    res = await create(
        tt, c["campaign_id"], pixel_id="7300000000000009999", optimization_event="SHOPPING", **base
    )
    assert res["code"] == 40007
    res = await create(tt, c["campaign_id"], pixel_id=PIXEL_ID, optimization_event="SHOPPING", **base)
    assert res["code"] == 0 and res["data"]["pixel_id"] == PIXEL_ID


async def test_optimization_goal_must_match_objective(tt: TikTokClient) -> None:
    c = await tt.campaign(objective_type="TRAFFIC")
    res = await create(tt, c["campaign_id"], optimization_goal="INSTALL", billing_event="OCPM")
    assert res["code"] == 40002 and res["message"].startswith("optimization_goal:")
    res = await create(tt, c["campaign_id"], optimization_goal="CONVERSIONS")
    assert res["code"] == 40002 and res["message"].startswith("optimization_goal:")
    res = await create(tt, c["campaign_id"], optimization_goal="VIDEO_VIEW", billing_event="CPV")
    assert res["code"] == 40002 and "deprecated" in res["message"]
    await tt.switches(optimization_goal_check=False, billing_event_check=False)
    assert (await create(tt, c["campaign_id"], optimization_goal="INSTALL", billing_event="OCPM"))[
        "code"
    ] == 0


async def test_billing_event_pairing(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], billing_event="CPM")
    assert (
        res["code"] == 40002
        and res["message"] == "billing_event: Must be CPC when optimization_goal is CLICK."
    )
    res = await create(tt, c["campaign_id"], billing_event="OCPC")
    assert res["code"] == 40002 and "no longer supported" in res["message"]


async def test_bid_type_custom_needs_a_price_and_fast_pacing_needs_custom(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], bid_type="BID_TYPE_CUSTOM")
    assert res["code"] == 40002 and res["message"].startswith("bid_price:")
    res = await create(tt, c["campaign_id"], pacing="PACING_MODE_FAST")
    assert res["code"] == 40002 and res["message"].startswith("pacing:")
    res = await create(
        tt, c["campaign_id"], bid_type="BID_TYPE_CUSTOM", bid_price=0.5, pacing="PACING_MODE_FAST"
    )
    assert res["code"] == 0 and res["data"]["bid_price"] == 0.5
    w = await tt.campaign(objective_type="WEB_CONVERSIONS", campaign_name="w")
    res = await create(
        tt,
        w["campaign_id"],
        optimization_goal="CONVERT",
        billing_event="OCPM",
        pixel_id=PIXEL_ID,
        optimization_event="SHOPPING",
        bid_type="BID_TYPE_CUSTOM",
        bid_price=1.0,
    )
    assert res["code"] == 40002 and res["message"].startswith("conversion_bid_price:")


async def test_adgroup_daily_minimum_is_20_usd(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], budget=19.99)
    assert res["code"] == 40002 and res["message"].startswith("budget:") and "20.00 USD" in res["message"]
    assert (await create(tt, c["campaign_id"], budget=20.0))["code"] == 0


async def test_budget_mode_combinations(tt: TikTokClient) -> None:
    day = await tt.campaign()
    res = await create(
        tt,
        day["campaign_id"],
        budget_mode="BUDGET_MODE_TOTAL",
        budget=500.0,
        schedule_type="SCHEDULE_START_END",
        schedule_start_time=future(1),
        schedule_end_time=future(5),
    )
    assert res["code"] == 40002 and res["message"].startswith("budget_mode:")
    total = await tt.campaign(budget_mode="BUDGET_MODE_TOTAL", budget=1000.0, campaign_name="total")
    res = await create(tt, total["campaign_id"], budget_mode="BUDGET_MODE_TOTAL", budget=500.0)
    assert res["code"] == 40002 and "SCHEDULE_START_END" in res["message"]
    # Lifetime minimum: 20 USD x scheduled days (4 days → 80).
    lifetime = {
        "budget_mode": "BUDGET_MODE_TOTAL",
        "schedule_type": "SCHEDULE_START_END",
        "schedule_start_time": future(1),
        "schedule_end_time": future(5),
    }
    res = await create(tt, total["campaign_id"], budget=79.0, **lifetime)
    assert res["code"] == 40002 and "80.00 USD" in res["message"]
    assert (await create(tt, total["campaign_id"], budget=80.0, **lifetime))["code"] == 0
    res = await create(tt, day["campaign_id"], budget_mode="BUDGET_MODE_INFINITE")
    assert res["code"] == 40002


async def test_schedule_format_is_utc_space_separated(tt: TikTokClient) -> None:
    c = await tt.campaign()
    for bad in ("2026-01-01T00:00:00", "2026-01-01T00:00:00Z", "2026-01-01 00:00:00+00:00", "2026-01-01"):
        res = await create(tt, c["campaign_id"], schedule_start_time=bad)
        assert res["code"] == 40002 and res["message"].startswith("schedule_start_time:"), bad
    res = await create(tt, c["campaign_id"], schedule_type="SCHEDULE_START_END")
    assert res["message"] == "schedule_end_time: Missing data for required field."
    res = await create(
        tt,
        c["campaign_id"],
        schedule_type="SCHEDULE_START_END",
        schedule_start_time=future(2),
        schedule_end_time=future(1),
    )
    assert res["code"] == 40002 and res["message"].startswith("schedule_end_time:")


async def test_flat_targeting_validation(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], location_ids=["US"])
    assert res["code"] == 40002 and res["message"].startswith("location_ids:")
    res = await create(tt, c["campaign_id"], location_ids=[6252001])
    assert res["code"] == 40002 and res["message"].startswith("location_ids:")
    res = await create(tt, c["campaign_id"], location_ids=[])
    assert res["code"] == 40002
    res = await create(tt, c["campaign_id"], age_groups=["18-24"])
    assert res["code"] == 40002 and res["message"].startswith("age_groups:")
    res = await create(tt, c["campaign_id"], gender="MALE")
    assert res["code"] == 40002 and res["message"].startswith("gender:")
    res = await create(tt, c["campaign_id"], operating_systems=["ANDROID", "IOS"])
    assert res["code"] == 40002 and res["message"].startswith("operating_systems:")
    res = await create(
        tt, c["campaign_id"], location_ids=["2635167", "1861060", "102358"], gender="GENDER_FEMALE"
    )
    assert res["code"] == 0 and res["data"]["location_ids"] == ["2635167", "1861060", "102358"]


async def test_age_13_17_restricted_regions_is_40065(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], age_groups=["AGE_13_17", "AGE_18_24"])
    assert res["code"] == 40065
    res = await create(tt, c["campaign_id"], age_groups=["AGE_13_17"], location_ids=["2921044"])
    assert res["code"] == 40065
    assert (await create(tt, c["campaign_id"], age_groups=["AGE_13_17"], location_ids=["1861060"]))[
        "code"
    ] == 0


async def test_placement_normal_needs_placements(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await create(tt, c["campaign_id"], placement_type=None)
    assert res["code"] == 40002 and res["message"].startswith("placements:")
    res = await create(
        tt, c["campaign_id"], placement_type="PLACEMENT_TYPE_NORMAL", placements=["PLACEMENT_TIKTOK"]
    )
    assert res["code"] == 0 and res["data"]["placements"] == ["PLACEMENT_TIKTOK"]


async def test_app_promotion_needs_app_and_os(tt: TikTokClient) -> None:
    c = await tt.campaign(objective_type="APP_PROMOTION", app_promotion_type="APP_INSTALL")
    base = {"optimization_goal": "INSTALL", "billing_event": "OCPM"}
    res = await create(tt, c["campaign_id"], **base)
    assert res["code"] == 40002 and res["message"].startswith("promotion_type:")
    res = await create(tt, c["campaign_id"], promotion_type="APP_ANDROID", **base)
    assert res["message"] == "app_id: Missing data for required field."
    res = await create(
        tt, c["campaign_id"], promotion_type="APP_ANDROID", app_id="7300000000000000555", **base
    )
    assert res["code"] == 40002 and res["message"].startswith("operating_systems:")
    res = await create(
        tt,
        c["campaign_id"],
        promotion_type="APP_ANDROID",
        app_id="7300000000000000555",
        operating_systems=["ANDROID"],
        **base,
    )
    assert res["code"] == 0, res


async def test_campaign_must_exist_and_be_live(tt: TikTokClient) -> None:
    res = await create(tt, "1234567890123456789")
    assert res["code"] == 40007 and res["message"].startswith("campaign_id:")
    c = await tt.campaign()
    await tt.post(
        "/campaign/status/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_ids": [c["campaign_id"]], "operation_status": "DELETE"},
    )
    assert (await create(tt, c["campaign_id"]))["code"] == 40002


async def test_request_id_window_on_adgroups(tt: TikTokClient) -> None:
    await tt.switches(request_id_window_s=30)
    c = await tt.campaign()
    assert (await create(tt, c["campaign_id"], request_id="42"))["code"] == 0
    assert (await create(tt, c["campaign_id"], request_id="42"))["code"] == 40050
    assert (await create(tt, c["campaign_id"], request_id="43"))["code"] == 0


async def test_get_filters_and_primary_status(tt: TikTokClient) -> None:
    c1 = await tt.campaign(campaign_name="c1")
    c2 = await tt.campaign(campaign_name="c2")
    a = (await create(tt, c1["campaign_id"], adgroup_name="ar-7d1e AdGroup"))["data"]
    b = (await create(tt, c1["campaign_id"], adgroup_name="other"))["data"]
    d = (await create(tt, c2["campaign_id"], adgroup_name="ar-7d1e again"))["data"]

    async def ids(flt: dict) -> list[str]:
        res = await tt.get("/adgroup/get/", {"advertiser_id": ADVERTISER_ID, "filtering": flt})
        assert res["code"] == 0, res
        return [r["adgroup_id"] for r in res["data"]["list"]]

    assert await ids({"campaign_ids": [c1["campaign_id"]]}) == sorted(
        [a["adgroup_id"], b["adgroup_id"]], reverse=True
    )
    assert await ids({"adgroup_name": "AR-7D1E"}) == sorted([a["adgroup_id"], d["adgroup_id"]], reverse=True)
    assert await ids({"campaign_ids": [c1["campaign_id"]], "adgroup_name": "ar-7d1e"}) == [a["adgroup_id"]]
    assert await ids({"adgroup_ids": [b["adgroup_id"]]}) == [b["adgroup_id"]]
    res = await tt.post(
        "/adgroup/status/update/",
        {"advertiser_id": ADVERTISER_ID, "adgroup_ids": [a["adgroup_id"]], "operation_status": "DELETE"},
    )
    assert res["code"] == 0
    assert await ids({"adgroup_name": "ar-7d1e"}) == [d["adgroup_id"]]
    assert await ids({"adgroup_name": "ar-7d1e", "primary_status": "STATUS_DELETE"}) == [a["adgroup_id"]]
    assert len(await ids({"adgroup_name": "ar-7d1e", "primary_status": "STATUS_ALL"})) == 2
    res = await tt.get("/adgroup/get/", {"advertiser_id": ADVERTISER_ID, "page_size": 1001})
    assert res["code"] == 40002


async def test_status_update_partial_success(tt: TikTokClient) -> None:
    _c, g = await tt.tree()
    body = {
        "advertiser_id": ADVERTISER_ID,
        "adgroup_ids": [g["adgroup_id"], "1234"],
        "operation_status": "DISABLE",
    }
    res = await tt.post("/adgroup/status/update/", body)
    assert res["code"] == 40007
    res = await tt.post("/adgroup/status/update/", {**body, "allow_partial_success": True})
    assert res["code"] == 0
    assert res["data"]["adgroup_ids"] == [g["adgroup_id"]] and res["data"]["status"] == "DISABLE"
    assert res["data"]["error_list"][0]["adgroup_id"] == "1234"
    await tt.switches(partial_success_code=20001)
    res = await tt.post("/adgroup/status/update/", {**body, "allow_partial_success": True})
    assert res["code"] == 20001


async def test_campaign_delete_cascades_to_adgroups(tt: TikTokClient) -> None:
    c, _g = await tt.tree()
    await tt.post(
        "/campaign/status/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_ids": [c["campaign_id"]], "operation_status": "DELETE"},
    )
    res = await tt.get(
        "/adgroup/get/", {"advertiser_id": ADVERTISER_ID, "filtering": {"primary_status": "STATUS_ALL"}}
    )
    row = res["data"]["list"][0]
    assert row["operation_status"] == "DELETE" and row["secondary_status"] == "ADGROUP_STATUS_CAMPAIGN_DELETE"
    assert (await tt.objects("adgroup"))[0]["deleted"] is True


async def test_campaign_disable_shows_on_adgroup_secondary_status(tt: TikTokClient) -> None:
    c, g = await tt.tree()
    assert g["secondary_status"] == "ADGROUP_STATUS_CREATE"
    await tt.post(
        "/campaign/status/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_ids": [c["campaign_id"]], "operation_status": "DISABLE"},
    )
    res = await tt.get("/adgroup/get/", {"advertiser_id": ADVERTISER_ID})
    assert res["data"]["list"][0]["secondary_status"] == "ADGROUP_STATUS_CAMPAIGN_DISABLE"


async def test_update_budget_targeting_and_immutables(tt: TikTokClient) -> None:
    _c, g = await tt.tree()
    base = {"advertiser_id": ADVERTISER_ID, "adgroup_id": g["adgroup_id"]}
    res = await tt.post(
        "/adgroup/update/", {**base, "budget": 70.0, "location_ids": ["2635167"], "adgroup_name": "n"}
    )
    assert res["code"] == 0, res
    assert res["data"]["budget"] == 70.0 and res["data"]["location_ids"] == ["2635167"]
    assert res["data"]["adgroup_name"] == "n"
    assert (await tt.post("/adgroup/update/", {**base, "budget": 5.0}))["code"] == 40002
    res = await tt.post("/adgroup/update/", {**base, "optimization_goal": "REACH"})
    assert res["code"] == 40002 and res["message"].startswith("optimization_goal:")
    res = await tt.post("/adgroup/update/", {**base, "targeting": {}})
    assert res["code"] == 40002 and res["message"] == "targeting: Unknown field."
