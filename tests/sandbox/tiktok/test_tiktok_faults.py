"""Fault effects answer with TikTok's real codes (HTTP 200 envelope); state effects change the platform."""

from __future__ import annotations

import time

import httpx
import pytest

from sandbox.tiktok.fixtures import ACCESS_TOKEN, ADVERTISER_ID
from tests.sandbox.tiktok.tiktok_support import API, TikTokClient

CAMPAIGN_BODY = {
    "advertiser_id": ADVERTISER_ID,
    "campaign_name": "ar-fault",
    "objective_type": "TRAFFIC",
    "budget_mode": "BUDGET_MODE_DAY",
    "budget": 100.0,
}


@pytest.mark.parametrize(
    ("effect", "code"),
    [
        ("expired_token", 40102),
        ("invalid_token", 40105),
        ("permission", 40001),
        ("rate_limit", 40100),
        ("transient", 50000),
        ("budget_too_low", 40002),
        ("not_found", 40007),
        ("validation", 40002),
        ("deprecated_version", 40006),
    ],
)
async def test_error_effects_use_real_codes(tt: TikTokClient, effect: str, code: int) -> None:
    await tt.fault({"effect": effect, "match": {"method": "POST", "path": "/campaign/create/$"}, "count": 1})
    resp = await tt.http.post(
        f"{API}/campaign/create/", json=CAMPAIGN_BODY, headers={"Access-Token": ACCESS_TOKEN}
    )
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"code", "message", "request_id", "data"} and body["code"] == code
    if effect == "budget_too_low":
        assert body["message"].startswith("budget:")
    assert await tt.objects("campaign") == []
    # count=1: the next call goes through.
    assert (await tt.post("/campaign/create/", CAMPAIGN_BODY))["code"] == 0


async def test_effect_params_override_code_and_scope(tt: TikTokClient) -> None:
    await tt.fault(
        {"effect": "transient", "match": {"path": "/campaign/get/"}, "count": 1, "params": {"code": 51000}}
    )
    assert (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}))["code"] == 51000
    await tt.fault(
        {
            "effect": "rate_limit",
            "match": {"path": "/campaign/get/"},
            "count": 1,
            "params": {"scope": "advertiser"},
        }
    )
    assert (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}))["code"] == 40133


async def test_body_field_matching(tt: TikTokClient) -> None:
    await tt.fault(
        {
            "effect": "validation",
            "match": {"path": "/campaign/create/", "body": {"field": "campaign_name", "contains": "bad"}},
        }
    )
    assert (await tt.post("/campaign/create/", {**CAMPAIGN_BODY, "campaign_name": "bad one"}))[
        "code"
    ] == 40002
    assert (await tt.post("/campaign/create/", CAMPAIGN_BODY))["code"] == 0


async def test_meta_only_effect_is_refused_with_http_400(tt: TikTokClient) -> None:
    await tt.fault({"effect": "meta_1487390", "match": {"path": "/campaign/get/"}})
    resp = await tt.http.get(
        f"{API}/campaign/get/",
        params={"advertiser_id": ADVERTISER_ID},
        headers={"Access-Token": ACCESS_TOKEN},
    )
    assert resp.status_code == 400


async def test_drop_after_apply_creates_but_the_client_never_hears(tt: TikTokClient) -> None:
    await tt.fault(
        {"effect": "drop_after_apply", "match": {"method": "POST", "path": "/campaign/create/$"}, "count": 1}
    )
    with pytest.raises(httpx.TransportError):
        await tt.http.post(
            f"{API}/campaign/create/",
            json={**CAMPAIGN_BODY, "campaign_name": "ar-dropped"},
            headers={"Access-Token": ACCESS_TOKEN},
        )
    rows = await tt.objects("campaign")
    assert [r["name"] for r in rows] == ["ar-dropped"]
    # The client's lookup by tag finds it.
    res = await tt.get(
        "/campaign/get/",
        {
            "advertiser_id": ADVERTISER_ID,
            "filtering": {"campaign_name": "ar-dropped", "primary_status": "STATUS_ALL"},
        },
    )
    assert [r["campaign_id"] for r in res["data"]["list"]] == [rows[0]["id"]]


async def test_latency_effect(tt: TikTokClient) -> None:
    await tt.fault({"effect": "latency", "latency_ms": 250, "match": {"path": "/campaign/get/"}, "count": 1})
    started = time.perf_counter()
    assert (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}))["code"] == 0
    assert time.perf_counter() - started >= 0.25


async def test_unfund_effect_makes_the_account_unable_to_spend(tt: TikTokClient) -> None:
    _c, g = await tt.tree()
    assert g["secondary_status"] == "ADGROUP_STATUS_CREATE"
    await tt.fault(
        {
            "effect": "unfund",
            "match": {"method": "POST", "path": "/campaign/create/$"},
            "count": 1,
            "params": {"status": "STATUS_LIMIT"},
        }
    )
    assert (await tt.post("/campaign/create/", CAMPAIGN_BODY))["code"] == 0
    info = (await tt.get("/advertiser/info/", {"advertiser_ids": [ADVERTISER_ID]}))["data"]["list"][0]
    assert info["balance"] == 0.0 and info["status"] == "STATUS_LIMIT"
    rows = (await tt.get("/adgroup/get/", {"advertiser_id": ADVERTISER_ID}))["data"]["list"]
    assert rows[0]["secondary_status"] == "ADGROUP_STATUS_BALANCE_EXCEED"


async def test_requests_are_logged(tt: TikTokClient) -> None:
    await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID})
    log = await tt.control("GET", "requests")
    assert any(e["path"] == f"{API}/campaign/get/" and e["status"] == 200 for e in log["requests"])
