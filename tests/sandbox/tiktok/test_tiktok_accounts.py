"""Tokens and accounts: auth_code exchange (single use, 1 h), no refresh, advertiser lookups."""

from __future__ import annotations

import time

from sandbox.tiktok.fixtures import (
    ACCESS_TOKEN,
    ADVERTISER_ID,
    APP_ID,
    APP_SECRET,
    AUTH_CODE,
    AUTH_CODE_TOKEN,
    IDENTITY_ID,
    PIXEL_ID,
)
from tests.sandbox.tiktok.tiktok_support import TikTokClient


async def exchange(tt: TikTokClient, code: str, secret: str = APP_SECRET) -> dict:
    return await tt.post(
        "/oauth2/access_token/", {"app_id": APP_ID, "secret": secret, "auth_code": code}, token=None
    )


async def test_auth_code_exchange_gives_a_long_term_token(tt: TikTokClient) -> None:
    res = await exchange(tt, AUTH_CODE)
    assert res["code"] == 0, res
    assert res["data"]["access_token"] == AUTH_CODE_TOKEN
    assert res["data"]["advertiser_ids"] == [ADVERTISER_ID]
    assert isinstance(res["data"]["scope"], list) and all(isinstance(s, int) for s in res["data"]["scope"])
    assert "refresh_token" not in res["data"] and "expires_in" not in res["data"]
    # The new token works.
    info = await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]}, token=AUTH_CODE_TOKEN)
    assert info["code"] == 0


async def test_auth_code_is_single_use(tt: TikTokClient) -> None:
    assert (await exchange(tt, AUTH_CODE))["code"] == 0
    again = await exchange(tt, AUTH_CODE)
    assert again["code"] == 40110 and "used" in again["message"]


async def test_auth_code_expires_after_an_hour_and_unknown_codes_fail(tt: TikTokClient) -> None:
    await tt.control(
        "POST",
        "seed",
        {
            "auth_codes": [
                {
                    "auth_code": "old",
                    "app_id": APP_ID,
                    "advertiser_ids": [ADVERTISER_ID],
                    "created_at": time.time() - 3601,
                }
            ]
        },
    )
    assert (await exchange(tt, "old"))["code"] == 40110
    assert (await exchange(tt, "never-issued"))["code"] == 40110
    await tt.switches(auth_code_error_code=40115)
    assert (await exchange(tt, "never-issued"))["code"] == 40115


async def test_wrong_app_secret_is_40101_and_missing_fields_40002(tt: TikTokClient) -> None:
    assert (await exchange(tt, AUTH_CODE, secret="wrong"))["code"] == 40101
    res = await tt.post("/oauth2/access_token/", {"app_id": APP_ID, "secret": APP_SECRET}, token=None)
    assert res["code"] == 40002 and res["message"] == "auth_code: Missing data for required field."
    # The failed attempts did not consume the code.
    assert (await exchange(tt, AUTH_CODE))["code"] == 0


async def test_there_is_no_refresh_for_marketing_api_tokens(tt: TikTokClient) -> None:
    res = await tt.post(
        "/oauth2/refresh_token/",
        {"app_id": APP_ID, "secret": APP_SECRET, "refresh_token": "anything", "grant_type": "refresh_token"},
        token=None,
    )
    assert res["code"] == 40107 and "long-term" in res["message"]


async def test_advertiser_get_lists_the_tokens_advertisers(tt: TikTokClient) -> None:
    res = await tt.get("/oauth2/advertiser/get/", {"app_id": APP_ID, "secret": APP_SECRET})
    assert res["code"] == 0
    assert res["data"]["list"] == [
        {"advertiser_id": ADVERTISER_ID, "advertiser_name": "adrelay demo advertiser (USD)"}
    ]
    assert (await tt.get("/oauth2/advertiser/get/", {"app_id": APP_ID, "secret": "x"}))["code"] == 40101
    assert (await tt.get("/oauth2/advertiser/get/", {"app_id": APP_ID, "secret": APP_SECRET}, token=None))[
        "code"
    ] == 40104


async def test_advertiser_info_fields(tt: TikTokClient) -> None:
    res = await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]})
    row = res["data"]["list"][0]
    assert row["currency"] == "USD" and row["status"] == "STATUS_ENABLE" and row["balance"] == 10000.0
    assert row["display_timezone"] == "America/New_York" and row["name"] == "adrelay demo advertiser (USD)"
    res = await tt.get(
        "/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID], "fields": ["currency", "status"]}
    )
    assert res["data"]["list"] == [{"currency": "USD", "status": "STATUS_ENABLE"}]
    res = await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID, "7300000000000000999"]})
    assert res["code"] == 40001


async def test_unfunded_or_limited_advertiser_as_account_status(tt: TikTokClient) -> None:
    await tt.control(
        "POST",
        "seed",
        {
            "advertisers": [
                {"advertiser_id": ADVERTISER_ID, "name": "n", "status": "STATUS_LIMIT", "balance": 0}
            ]
        },
    )
    row = (await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]}))["data"]["list"][0]
    assert row["status"] == "STATUS_LIMIT" and row["balance"] == 0.0
    _c, g = await tt.tree()
    assert g["secondary_status"] == "ADGROUP_STATUS_BALANCE_EXCEED"


async def test_identity_pixel_and_region_lookups(tt: TikTokClient) -> None:
    res = await tt.get("/identity/get/", {"advertiser_id": ADVERTISER_ID, "identity_type": "CUSTOMIZED_USER"})
    assert [i["identity_id"] for i in res["data"]["identity_list"]] == [IDENTITY_ID]
    res = await tt.get("/pixel/list/", {"advertiser_id": ADVERTISER_ID})
    assert [p["pixel_id"] for p in res["data"]["pixels"]] == [PIXEL_ID]
    res = await tt.get(
        "/tool/region/",
        {"advertiser_id": ADVERTISER_ID, "placements": ["PLACEMENT_TIKTOK"], "objective_type": "TRAFFIC"},
    )
    codes = {r["region_code"]: r["location_id"] for r in res["data"]["region_info"]}
    assert codes["US"] == "6252001" and codes["SA"] == "102358" and codes["JP"] == "1861060"
    res = await tt.get("/tool/region/", {"advertiser_id": ADVERTISER_ID, "objective_type": "TRAFFIC"})
    assert res["code"] == 40002


async def test_token_still_valid_after_exchange_of_another_code(tt: TikTokClient) -> None:
    await exchange(tt, AUTH_CODE)
    assert (await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]}, token=ACCESS_TOKEN))[
        "code"
    ] == 0
