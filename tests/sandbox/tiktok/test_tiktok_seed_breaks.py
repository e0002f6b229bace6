"""Every TikTok row of platform-apis.md §4 ("Where seed-style code breaks"), rejected as the platform does."""

from __future__ import annotations

from sandbox.tiktok.fixtures import ACCESS_TOKEN, ADVERTISER_ID, APP_ID, APP_SECRET, PIXEL_ID, mp4_bytes
from tests.sandbox.tiktok.tiktok_support import API, TikTokClient, adgroup_body, md5

HEADERS = {"Access-Token": ACCESS_TOKEN}


async def test_row_campaign_day_budget_below_minimums(tt: TikTokClient) -> None:
    seed_campaign = {
        "advertiser_id": ADVERTISER_ID,
        "campaign_name": "Spring",
        "objective_type": "TRAFFIC",
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 30,
        "operation_status": "DISABLE",
    }
    res = await tt.post("/campaign/create/", seed_campaign)
    assert res["code"] == 40002 and res["message"].startswith("budget:")
    ok = await tt.post("/campaign/create/", {**seed_campaign, "budget": 50})
    assert ok["code"] == 0 and ok["data"]["operation_status"] == "DISABLE"
    res = await tt.post("/adgroup/create/", adgroup_body(ok["data"]["campaign_id"], budget=15.0))
    assert res["code"] == 40002 and res["message"].startswith("budget:")


async def test_row_seed_objective_map_uses_deprecated_objectives(tt: TikTokClient) -> None:
    res = await tt.post(
        "/campaign/create/",
        {
            "advertiser_id": ADVERTISER_ID,
            "campaign_name": "x",
            "objective_type": "CONVERSIONS",
            "budget_mode": "BUDGET_MODE_INFINITE",
        },
    )
    assert res["code"] == 40002 and res["message"].startswith("objective_type:")


async def test_row_adgroup_targeting_object(tt: TikTokClient) -> None:
    c = await tt.campaign()
    res = await tt.post("/adgroup/create/", adgroup_body(c["campaign_id"], targeting={"countries": ["US"]}))
    assert (res["code"], res["message"]) == (40002, "targeting: Unknown field.")


async def test_row_adgroup_missing_required_fields_and_convert_rules(tt: TikTokClient) -> None:
    c = await tt.campaign(objective_type="WEB_CONVERSIONS")
    convert = {
        "optimization_goal": "CONVERT",
        "billing_event": "OCPM",
        "pixel_id": PIXEL_ID,
        "optimization_event": "SHOPPING",
    }
    for missing in (
        "billing_event",
        "schedule_type",
        "schedule_start_time",
        "pacing",
        "budget_mode",
        "promotion_type",
    ):
        res = await tt.post(
            "/adgroup/create/",
            adgroup_body(c["campaign_id"], **{**convert, missing: None}),
        )
        assert res["code"] == 40002 and res["message"].startswith(f"{missing}:"), missing
    res = await tt.post(
        "/adgroup/create/", adgroup_body(c["campaign_id"], optimization_goal="CONVERT", billing_event="OCPM")
    )
    assert res["message"] == "pixel_id: Missing data for required field."


async def test_row_create_creative_endpoint_does_not_exist(tt: TikTokClient) -> None:
    for path in ("/creative/create/", "/ad/creative/create/", "/creative/video/create/"):
        resp = await tt.http.post(f"{API}{path}", json={"advertiser_id": ADVERTISER_ID}, headers=HEADERS)
        assert resp.status_code == 404


async def test_row_video_upload_data_is_a_list(tt: TikTokClient) -> None:
    data = mp4_bytes(720, 1280)
    res = await tt.upload(
        "/file/video/ad/upload/",
        {"advertiser_id": ADVERTISER_ID, "video_signature": md5(data)},
        {"video_file": ("v.mp4", data, "video/mp4")},
    )
    assert isinstance(res["data"], list) and "video_id" not in res["data"]
    assert res["data"][0]["video_id"]


async def test_row_errors_come_back_as_http_200(tt: TikTokClient) -> None:
    resp = await tt.http.post(
        f"{API}/campaign/create/", json={"advertiser_id": ADVERTISER_ID}, headers=HEADERS
    )
    assert resp.status_code == 200 and resp.json()["code"] == 40002
    resp = await tt.http.get(f"{API}/campaign/get/", params={"advertiser_id": ADVERTISER_ID})
    assert resp.status_code == 200 and resp.json()["code"] == 40104


async def test_row_token_refresh_does_not_exist_for_marketing_tokens(tt: TikTokClient) -> None:
    res = await tt.post(
        "/oauth2/refresh_token/",
        {"app_id": APP_ID, "secret": APP_SECRET, "refresh_token": "r", "grant_type": "refresh_token"},
        token=None,
    )
    assert res["code"] == 40107


async def test_row_webhooks_are_per_entity_subscriptions(tt: TikTokClient) -> None:
    resp = await tt.http.post(f"{API}/webhook/create/", json={"events": ["ad.disapproved"]}, headers=HEADERS)
    assert resp.status_code == 404
    res = await tt.post(
        "/subscription/subscribe/",
        {
            "app_id": APP_ID,
            "secret": APP_SECRET,
            "callback_url": "https://example.com/hook",
            "events": ["AD", "AD_GROUP"],
        },
        token=None,
    )
    assert res["code"] == 40002 and res["message"] == "events: Unknown field."
