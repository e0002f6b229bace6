"""Transport rules: trailing slashes, envelope, Access-Token auth, JSON-encoded query lists, rate limits."""

from __future__ import annotations

import asyncio
import re
import time

import httpx

from sandbox.tiktok.fixtures import ACCESS_TOKEN, ADVERTISER_ID, APP_ID
from tests.sandbox.tiktok.tiktok_support import API, TikTokClient


async def test_success_envelope_is_http_200_with_code_0_and_log_id(tt: TikTokClient) -> None:
    res = await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]})
    assert set(res) == {"code", "message", "request_id", "data"}
    assert res["code"] == 0 and res["message"] == "OK"
    assert re.fullmatch(r"\d{14}[0-9A-F]{20}", res["request_id"])
    resp = await tt.http.get(
        f"{API}/advertiser/info/",
        params={"advertiser_ids": f'["{ADVERTISER_ID}"]'},
        headers={"Access-Token": ACCESS_TOKEN},
    )
    assert resp.headers["X-Tt-Logid"] == resp.json()["request_id"]
    assert resp.headers["Content-Type"].startswith("application/json")


async def test_missing_trailing_slash_is_http_404(tt: TikTokClient) -> None:
    resp = await tt.http.get(
        f"{API}/campaign/get", params={"advertiser_id": ADVERTISER_ID}, headers={"Access-Token": ACCESS_TOKEN}
    )
    assert resp.status_code == 404
    resp = await tt.http.post(f"{API}/campaign/create", json={}, headers={"Access-Token": ACCESS_TOKEN})
    assert resp.status_code == 404


async def test_endpoints_that_do_not_exist_are_404(tt: TikTokClient) -> None:
    # No creative endpoint (creatives are inline in /ad/create/), no delete endpoints.
    for path in (
        "/creative/create/",
        "/ad/creative/create/",
        "/campaign/delete/",
        "/adgroup/delete/",
        "/ad/delete/",
    ):
        resp = await tt.http.post(f"{API}{path}", json={}, headers={"Access-Token": ACCESS_TOKEN})
        assert resp.status_code == 404, path


async def test_missing_access_token_is_40104_with_the_real_message(tt: TikTokClient) -> None:
    res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}, token=None)
    assert res["code"] == 40104
    assert res["message"] == "Access token is null, you should set it in http header with key Access-Token."


async def test_bearer_authorization_header_is_not_the_tiktok_header(tt: TikTokClient) -> None:
    resp = await tt.http.get(
        f"{API}/campaign/get/",
        params={"advertiser_id": ADVERTISER_ID},
        headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
    )
    assert resp.status_code == 200 and resp.json()["code"] == 40104


async def test_unknown_token_is_40105_and_revoked_token_too(tt: TikTokClient) -> None:
    res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}, token="nope")
    assert res["code"] == 40105
    await tt.control(
        "POST",
        "seed",
        {
            "tokens": [
                {
                    "access_token": "revoked1",
                    "app_id": APP_ID,
                    "advertiser_ids": [ADVERTISER_ID],
                    "revoked": True,
                }
            ]
        },
    )
    assert (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}, token="revoked1"))[
        "code"
    ] == 40105


async def test_expired_token_is_40102(tt: TikTokClient) -> None:
    await tt.control(
        "POST",
        "seed",
        {
            "tokens": [
                {
                    "access_token": "expired1",
                    "app_id": APP_ID,
                    "advertiser_ids": [ADVERTISER_ID],
                    "expires_at": time.time() - 1,
                }
            ]
        },
    )
    res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}, token="expired1")
    assert res["code"] == 40102


async def test_token_not_authorized_for_advertiser_is_40001_or_40106_by_switch(tt: TikTokClient) -> None:
    await tt.control(
        "POST", "seed", {"advertisers": [{"advertiser_id": "7300000000000000999", "name": "other"}]}
    )
    res = await tt.get("/campaign/get/", {"advertiser_id": "7300000000000000999"})
    assert res["code"] == 40001 and "7300000000000000999" in res["message"]
    await tt.switches(advertiser_not_authorized_code=40106)
    res = await tt.get("/campaign/get/", {"advertiser_id": "7300000000000000999"})
    assert res["code"] == 40106


async def test_get_lists_are_json_encoded_strings_repeated_params_are_refused(tt: TikTokClient) -> None:
    ok = await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]})
    assert ok["code"] == 0 and ok["data"]["list"][0]["advertiser_id"] == ADVERTISER_ID
    resp = await tt.http.get(
        f"{API}/advertiser/info/",
        params={"advertiser_ids": ADVERTISER_ID},
        headers={"Access-Token": ACCESS_TOKEN},
    )
    assert resp.json()["code"] == 40002 and "advertiser_ids" in resp.json()["message"]
    resp = await tt.http.get(
        f"{API}/advertiser/info/",
        params=httpx.QueryParams([("advertiser_ids", ADVERTISER_ID), ("advertiser_ids", ADVERTISER_ID)]),
        headers={"Access-Token": ACCESS_TOKEN},
    )
    assert resp.json()["code"] == 40002


async def test_writes_need_a_json_body(tt: TikTokClient) -> None:
    resp = await tt.http.post(
        f"{API}/campaign/create/",
        data={"advertiser_id": ADVERTISER_ID},
        headers={"Access-Token": ACCESS_TOKEN},
    )
    assert resp.status_code == 200 and resp.json()["code"] == 40000
    resp = await tt.http.post(
        f"{API}/campaign/create/",
        content=b"{not json",
        headers={"Access-Token": ACCESS_TOKEN, "Content-Type": "application/json"},
    )
    assert resp.json()["code"] == 40000


async def test_ids_must_be_strings_in_v13(tt: TikTokClient) -> None:
    res = await tt.post(
        "/campaign/create/",
        {
            "advertiser_id": int(ADVERTISER_ID),
            "campaign_name": "x",
            "objective_type": "TRAFFIC",
            "budget_mode": "BUDGET_MODE_INFINITE",
        },
    )
    assert res["code"] == 40002 and res["message"].startswith("advertiser_id:")


async def test_app_rate_limit_per_endpoint_is_40100_in_the_body_without_headers(tt: TikTokClient) -> None:
    await tt.control("POST", "config", {"rate_limits": {"campaign_get_qps": 3}})
    codes = []
    for _ in range(5):
        resp = await tt.http.get(
            f"{API}/campaign/get/",
            params={"advertiser_id": ADVERTISER_ID},
            headers={"Access-Token": ACCESS_TOKEN},
        )
        assert resp.status_code == 200
        assert not any(h.lower().startswith("x-rate") or h.lower() == "retry-after" for h in resp.headers)
        codes.append(resp.json()["code"])
    assert codes[:3] == [0, 0, 0] and codes[3:] == [40100, 40100]
    # Another endpoint has its own budget.
    assert (await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]}))["code"] == 0
    await asyncio.sleep(1.05)
    assert (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}))["code"] == 0


async def test_ad_create_default_limit_is_5_qps(tt: TikTokClient) -> None:
    await tt.control("POST", "config", {"rate_limits": {"ad_create_qps": 5}})
    codes = []
    for _ in range(6):
        codes.append((await tt.post("/ad/create/", {"advertiser_id": ADVERTISER_ID}))["code"])
    assert codes[:5] == [40002] * 5 and codes[5] == 40100


async def test_advertiser_level_rate_limit_is_40133(tt: TikTokClient) -> None:
    await tt.control("POST", "config", {"rate_limits": {"advertiser_qps": 2}})
    codes = [(await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}))["code"] for _ in range(3)]
    assert codes == [0, 0, 40133]
