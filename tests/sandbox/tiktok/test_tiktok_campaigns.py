"""Campaigns: create / get / update / status update, budgets per currency, request_id, lookup surface."""

from __future__ import annotations

import asyncio
import time

import pytest

from sandbox.tiktok.fixtures import ADVERTISER_ID, APP_ID
from tests.sandbox.tiktok.tiktok_support import TikTokClient, adgroup_body

JPY_ADVERTISER = "7300000000000000102"
JPY_TOKEN = "ttjpy000000000000000000000000000000000001"


def body(**overrides: object) -> dict:
    base = {
        "advertiser_id": ADVERTISER_ID,
        "campaign_name": "ar-1f3c9a spring",
        "objective_type": "TRAFFIC",
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 100.0,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def seed_jpy(tt: TikTokClient) -> None:
    await tt.control(
        "POST",
        "seed",
        {
            "advertisers": [
                {"advertiser_id": JPY_ADVERTISER, "name": "jp", "currency": "JPY", "timezone": "Asia/Tokyo"}
            ],
            "tokens": [{"access_token": JPY_TOKEN, "app_id": APP_ID, "advertiser_ids": [JPY_ADVERTISER]}],
        },
    )


async def test_create_answers_the_full_campaign_object(tt: TikTokClient) -> None:
    res = await tt.post("/campaign/create/", body(operation_status="DISABLE"))
    assert res["code"] == 0, res
    data = res["data"]
    assert (
        isinstance(data["campaign_id"], str)
        and len(data["campaign_id"]) == 19
        and data["campaign_id"].isdigit()
    )
    assert data["campaign_name"] == "ar-1f3c9a spring"
    assert data["objective_type"] == "TRAFFIC" and data["objective"] == "LANDING_PAGE"
    assert data["budget"] == 100.0 and data["budget_mode"] == "BUDGET_MODE_DAY"
    assert data["operation_status"] == "DISABLE" and data["secondary_status"] == "CAMPAIGN_STATUS_DISABLE"
    assert data["advertiser_id"] == ADVERTISER_ID
    assert len(data["create_time"]) == 19 and data["create_time"][10] == " "
    rows = await tt.objects("campaign")
    assert [(r["id"], r["name"], r["status"], r["deleted"]) for r in rows] == [
        (data["campaign_id"], "ar-1f3c9a spring", "DISABLE", False)
    ]


async def test_operation_status_defaults_to_enable(tt: TikTokClient) -> None:
    data = (await tt.post("/campaign/create/", body()))["data"]
    assert data["operation_status"] == "ENABLE" and data["secondary_status"] == "CAMPAIGN_STATUS_ENABLE"


@pytest.mark.parametrize("missing", ["advertiser_id", "campaign_name", "objective_type", "budget_mode"])
async def test_required_fields(tt: TikTokClient, missing: str) -> None:
    res = await tt.post("/campaign/create/", body(**{missing: None}))
    assert res["code"] == 40002
    assert res["message"] == f"{missing}: Missing data for required field."


@pytest.mark.parametrize(
    "objective",
    ["APP_INSTALL", "CONVERSIONS", "CATALOG_SALES", "SHOP_PURCHASES", "RF_APP_INSTALL", "RF_ENGAGEMENT"],
)
async def test_deprecated_objectives_are_refused(tt: TikTokClient, objective: str) -> None:
    res = await tt.post("/campaign/create/", body(objective_type=objective))
    assert (
        res["code"] == 40002
        and res["message"].startswith("objective_type:")
        and "deprecated" in res["message"]
    )


@pytest.mark.parametrize(
    "objective",
    [
        "APP_PROMOTION",
        "WEB_CONVERSIONS",
        "REACH",
        "TRAFFIC",
        "VIDEO_VIEWS",
        "PRODUCT_SALES",
        "ENGAGEMENT",
        "LEAD_GENERATION",
    ],
)
async def test_current_objectives_are_accepted(tt: TikTokClient, objective: str) -> None:
    extra = {"app_promotion_type": "APP_INSTALL"} if objective == "APP_PROMOTION" else {}
    res = await tt.post("/campaign/create/", body(objective_type=objective, campaign_name=objective, **extra))
    assert res["code"] == 0, res


async def test_unknown_objective_and_app_promotion_type(tt: TikTokClient) -> None:
    assert (await tt.post("/campaign/create/", body(objective_type="OUTCOME_SALES")))["code"] == 40002
    res = await tt.post("/campaign/create/", body(objective_type="APP_PROMOTION"))
    assert res["code"] == 40002 and res["message"].startswith("app_promotion_type:")


async def test_usd_minimum_campaign_budget_is_50(tt: TikTokClient) -> None:
    low = await tt.post("/campaign/create/", body(budget=49.99))
    assert low["code"] == 40002 and low["message"].startswith("budget:") and "50.00 USD" in low["message"]
    assert (await tt.post("/campaign/create/", body(budget=50.0, campaign_name="a")))["code"] == 0
    await tt.switches(budget_minimum_inclusive=False)
    assert (await tt.post("/campaign/create/", body(budget=50.0, campaign_name="b")))["code"] == 40002
    assert (await tt.post("/campaign/create/", body(budget=50.01, campaign_name="c")))["code"] == 0


async def test_usd_budget_precision_and_type(tt: TikTokClient) -> None:
    res = await tt.post("/campaign/create/", body(budget=60.123))
    assert res["code"] == 40002 and "decimal places" in res["message"]
    res = await tt.post("/campaign/create/", body(budget="100"))
    assert res["code"] == 40002 and res["message"] == "budget: Not a valid number."
    res = await tt.post("/campaign/create/", body(budget=10_000_000.0))
    assert res["code"] == 40002 and "less than" in res["message"]


async def test_jpy_budget_is_integer_major_units_times_ratio_100(tt: TikTokClient) -> None:
    await seed_jpy(tt)
    tt.token = JPY_TOKEN
    low = await tt.post("/campaign/create/", body(advertiser_id=JPY_ADVERTISER, budget=4999.0))
    assert low["code"] == 40002 and "5000 JPY" in low["message"]
    frac = await tt.post("/campaign/create/", body(advertiser_id=JPY_ADVERTISER, budget=5000.5))
    assert frac["code"] == 40002 and "integers" in frac["message"]
    ok = await tt.post("/campaign/create/", body(advertiser_id=JPY_ADVERTISER, budget=5000))
    assert ok["code"] == 0 and ok["data"]["budget"] == 5000.0
    # Ad group daily minimum: 20 USD x 100 = 2000 JPY.
    campaign_id = ok["data"]["campaign_id"]
    group = adgroup_body(campaign_id, advertiser_id=JPY_ADVERTISER, budget=1999)
    low = await tt.post("/adgroup/create/", group)
    assert low["code"] == 40002 and "2000 JPY" in low["message"]
    assert (await tt.post("/adgroup/create/", {**group, "budget": 2000}))["code"] == 0
    # A seed can change the ratio for the currency.
    await tt.control("POST", "seed", {"currencies": [{"currency": "JPY", "budget_ratio": 150}]})
    res = await tt.post(
        "/campaign/create/", body(advertiser_id=JPY_ADVERTISER, budget=5000, campaign_name="x")
    )
    assert res["code"] == 40002 and "7500 JPY" in res["message"]


async def test_budget_modes(tt: TikTokClient) -> None:
    res = await tt.post("/campaign/create/", body(budget_mode="BUDGET_MODE_INFINITE", budget=None))
    assert res["code"] == 0 and res["data"]["budget_mode"] == "BUDGET_MODE_INFINITE"
    res = await tt.post("/campaign/create/", body(budget=None, campaign_name="nobudget"))
    assert res["message"] == "budget: Missing data for required field."
    res = await tt.post(
        "/campaign/create/", body(budget_mode="BUDGET_MODE_DYNAMIC_DAILY_BUDGET", campaign_name="d")
    )
    assert res["code"] == 40002 and res["message"].startswith("budget_mode:")
    res = await tt.post(
        "/campaign/create/", body(budget_mode="BUDGET_MODE_DYNAMIC_DAILY_BUDGET", budget_optimize_on=True)
    )
    assert res["code"] == 0
    res = await tt.post(
        "/campaign/create/", body(budget_mode="BUDGET_MODE_INFINITE", budget_optimize_on=True)
    )
    assert res["code"] == 40002


async def test_campaign_name_limits(tt: TikTokClient) -> None:
    assert (await tt.post("/campaign/create/", body(campaign_name="x" * 512)))["code"] == 0
    res = await tt.post("/campaign/create/", body(campaign_name="x" * 513))
    assert res["code"] == 40002 and res["message"].startswith("campaign_name:")
    res = await tt.post("/campaign/create/", body(campaign_name="Spring sale \U0001f525"))
    assert res["code"] == 40002 and "Emoji" in res["message"]
    # CJK characters count twice.
    assert (await tt.post("/campaign/create/", body(campaign_name="春" * 257)))["code"] == 40002
    assert (await tt.post("/campaign/create/", body(campaign_name="")))["code"] == 40002


async def test_operation_status_delete_cannot_be_set_at_create(tt: TikTokClient) -> None:
    res = await tt.post("/campaign/create/", body(operation_status="DELETE"))
    assert res["code"] == 40002 and res["message"].startswith("operation_status:")


async def test_unknown_fields_are_refused(tt: TikTokClient) -> None:
    res = await tt.post("/campaign/create/", body(special_ad_categories=["NONE"]))
    assert res["code"] == 40002 and res["message"] == "special_ad_categories: Unknown field."


async def test_request_id_dedupes_within_the_window_then_creates_again(tt: TikTokClient) -> None:
    await tt.switches(request_id_window_s=0.5)
    first = await tt.post("/campaign/create/", body(request_id="7391234567890123456"))
    assert first["code"] == 0
    again = await tt.post("/campaign/create/", body(request_id="7391234567890123456"))
    assert again["code"] == 40050
    assert len(await tt.objects("campaign")) == 1
    await asyncio.sleep(0.6)
    later = await tt.post("/campaign/create/", body(request_id="7391234567890123456"))
    assert later["code"] == 0 and later["data"]["campaign_id"] != first["data"]["campaign_id"]
    assert len(await tt.objects("campaign")) == 2


async def test_request_id_must_be_an_int64_string(tt: TikTokClient) -> None:
    assert (await tt.post("/campaign/create/", body(request_id="abc")))["code"] == 40002
    assert (await tt.post("/campaign/create/", body(request_id=123)))["code"] == 40002
    assert (await tt.post("/campaign/create/", body(request_id=str(2**63))))["code"] == 40002


async def test_duplicate_names_allowed_by_default_rejected_by_switch(tt: TikTokClient) -> None:
    assert (await tt.post("/campaign/create/", body()))["code"] == 0
    assert (await tt.post("/campaign/create/", body()))["code"] == 0
    await tt.switches(duplicate_names="reject")
    res = await tt.post("/campaign/create/", body())
    assert res["code"] == 40002 and res["message"].startswith("campaign_name:")
    # With a request_id duplicate names are allowed.
    assert (await tt.post("/campaign/create/", body(request_id="1")))["code"] == 0


async def test_get_filters_fuzzy_name_ids_and_sort(tt: TikTokClient) -> None:
    a = await tt.campaign(campaign_name="ar-aaa111 Alpha")
    b = await tt.campaign(campaign_name="ar-bbb222 Beta")
    c = await tt.campaign(campaign_name="other")
    res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID})
    assert res["code"] == 0
    ids = [r["campaign_id"] for r in res["data"]["list"]]
    assert ids == sorted([a["campaign_id"], b["campaign_id"], c["campaign_id"]], key=int, reverse=True)
    assert res["data"]["page_info"] == {"page": 1, "page_size": 10, "total_number": 3, "total_page": 1}
    res = await tt.get(
        "/campaign/get/", {"advertiser_id": ADVERTISER_ID, "filtering": {"campaign_name": "AR-"}}
    )
    assert {r["campaign_id"] for r in res["data"]["list"]} == {a["campaign_id"], b["campaign_id"]}
    res = await tt.get(
        "/campaign/get/", {"advertiser_id": ADVERTISER_ID, "filtering": {"campaign_name": "b222 be"}}
    )
    assert [r["campaign_id"] for r in res["data"]["list"]] == [b["campaign_id"]]
    res = await tt.get(
        "/campaign/get/", {"advertiser_id": ADVERTISER_ID, "filtering": {"campaign_ids": [c["campaign_id"]]}}
    )
    assert [r["campaign_id"] for r in res["data"]["list"]] == [c["campaign_id"]]


async def test_get_fields_objective_and_creation_time_filters(tt: TikTokClient) -> None:
    await tt.campaign(campaign_name="t1")
    await tt.campaign(campaign_name="r1", objective_type="REACH")
    res = await tt.get(
        "/campaign/get/",
        {
            "advertiser_id": ADVERTISER_ID,
            "filtering": {"objective_type": "REACH"},
            "fields": ["campaign_id", "campaign_name"],
        },
    )
    assert [set(r) for r in res["data"]["list"]] == [{"campaign_id", "campaign_name"}]
    assert res["data"]["list"][0]["campaign_name"] == "r1"
    future = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 3600))
    res = await tt.get(
        "/campaign/get/",
        {"advertiser_id": ADVERTISER_ID, "filtering": {"creation_filter_start_time": future}},
    )
    assert res["data"]["list"] == []
    res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID, "fields": ["campaign_id", "nope"]})
    assert res["code"] == 40002 and res["message"].startswith("fields:")
    res = await tt.get(
        "/campaign/get/",
        {"advertiser_id": ADVERTISER_ID, "filtering": {"creation_filter_start_time": "2026-01-01T00:00:00Z"}},
    )
    assert res["code"] == 40002


async def test_get_paging_bounds(tt: TikTokClient) -> None:
    for i in range(3):
        await tt.campaign(campaign_name=f"p{i}")
    res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID, "page": 2, "page_size": 2})
    assert len(res["data"]["list"]) == 1
    assert res["data"]["page_info"] == {"page": 2, "page_size": 2, "total_number": 3, "total_page": 2}
    for size in (0, 1001):
        res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID, "page_size": size})
        assert res["code"] == 40002 and res["message"].startswith("page_size:")
    assert (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID, "page_size": 1000}))["code"] == 0
    res = await tt.get(
        "/campaign/get/", {"advertiser_id": ADVERTISER_ID, "filtering": {"campaign_ids": ["1"] * 101}}
    )
    assert res["code"] == 40002


async def test_unknown_filter_keys_are_not_honoured(tt: TikTokClient) -> None:
    await tt.campaign(campaign_name="keep")
    await tt.campaign(campaign_name="other")
    res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID, "filtering": {"name": "keep"}})
    assert res["code"] == 0 and res["data"]["page_info"]["total_number"] == 2
    await tt.switches(unknown_filter_keys="reject")
    res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID, "filtering": {"name": "keep"}})
    assert res["code"] == 40002 and res["message"] == "filtering.name: Unknown field."


async def test_delete_only_through_status_update_and_primary_status_filters(tt: TikTokClient) -> None:
    keep = await tt.campaign(campaign_name="ar-keep")
    gone = await tt.campaign(campaign_name="ar-gone")
    res = await tt.post(
        "/campaign/status/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_ids": [gone["campaign_id"]], "operation_status": "DELETE"},
    )
    assert res["code"] == 0
    assert res["data"] == {
        "campaign_ids": [gone["campaign_id"]],
        "status": "DELETE",
        "campaign_list": [{"campaign_id": gone["campaign_id"], "status": "DELETE"}],
    }

    async def listed(primary: str | None) -> set[str]:
        flt = {"campaign_name": "ar-"} | ({"primary_status": primary} if primary else {})
        rows = (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID, "filtering": flt}))["data"][
            "list"
        ]
        return {r["campaign_id"] for r in rows}

    assert await listed(None) == {keep["campaign_id"]}
    assert await listed("STATUS_NOT_DELETE") == {keep["campaign_id"]}
    assert await listed("STATUS_DELETE") == {gone["campaign_id"]}
    assert await listed("STATUS_ALL") == {keep["campaign_id"], gone["campaign_id"]}
    deleted = (
        await tt.get(
            "/campaign/get/",
            {"advertiser_id": ADVERTISER_ID, "filtering": {"primary_status": "STATUS_DELETE"}},
        )
    )["data"]["list"][0]
    assert deleted["secondary_status"] == "CAMPAIGN_STATUS_DELETE"
    rows = {r["id"]: r for r in await tt.objects("campaign")}
    assert rows[gone["campaign_id"]]["deleted"] is True and rows[keep["campaign_id"]]["deleted"] is False
    # A deleted campaign cannot change status again, not even to DELETE.
    for status in ("ENABLE", "DELETE"):
        res = await tt.post(
            "/campaign/status/update/",
            {
                "advertiser_id": ADVERTISER_ID,
                "campaign_ids": [gone["campaign_id"]],
                "operation_status": status,
            },
        )
        assert res["code"] == 40002 and "deleted" in res["message"]
    res = await tt.post(
        "/campaign/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_id": gone["campaign_id"], "campaign_name": "x"},
    )
    assert res["code"] == 40002


async def test_status_update_limits_and_unknown_ids(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await tt.post(
        "/campaign/status/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_ids": [c["campaign_id"]], "operation_status": "DISABLE"},
    )
    assert res["code"] == 0 and res["data"]["status"] == "DISABLE"
    got = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID})
    assert got["data"]["list"][0]["operation_status"] == "DISABLE"
    ids = [c["campaign_id"]] * 21
    res = await tt.post(
        "/campaign/status/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_ids": ids, "operation_status": "ENABLE"},
    )
    assert res["code"] == 40002 and res["message"].startswith("campaign_ids:")
    res = await tt.post(
        "/campaign/status/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_ids": ["1234"], "operation_status": "ENABLE"},
    )
    assert res["code"] == 40007
    res = await tt.post(
        "/campaign/status/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_ids": [c["campaign_id"]], "operation_status": "PAUSED"},
    )
    assert res["code"] == 40002


async def test_update_name_and_budget(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await tt.post(
        "/campaign/update/",
        {
            "advertiser_id": ADVERTISER_ID,
            "campaign_id": c["campaign_id"],
            "campaign_name": "renamed",
            "budget": 80.0,
        },
    )
    assert res["code"] == 0 and res["data"]["campaign_name"] == "renamed" and res["data"]["budget"] == 80.0
    res = await tt.post(
        "/campaign/update/", {"advertiser_id": ADVERTISER_ID, "campaign_id": c["campaign_id"], "budget": 10.0}
    )
    assert res["code"] == 40002 and res["message"].startswith("budget:")
    res = await tt.post(
        "/campaign/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_id": c["campaign_id"], "budget_mode": "BUDGET_MODE_TOTAL"},
    )
    assert res["code"] == 40002
    res = await tt.post(
        "/campaign/update/",
        {"advertiser_id": ADVERTISER_ID, "campaign_id": c["campaign_id"], "operation_status": "DISABLE"},
    )
    assert res["code"] == 40002 and res["message"] == "operation_status: Unknown field."
    assert [r["name"] for r in await tt.objects("campaign")] == ["renamed"]


async def test_campaign_count_limit_per_advertiser(tt: TikTokClient) -> None:
    await tt.switches(max_campaigns_per_advertiser=1)
    assert (await tt.post("/campaign/create/", body()))["code"] == 0
    res = await tt.post("/campaign/create/", body(campaign_name="second"))
    assert res["code"] == 40002 and "limit" in res["message"]
