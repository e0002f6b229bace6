"""Tokens, rate limits, review with signed webhooks, video upload, insights and fault effects."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from sandbox.meta import fixtures as fx
from tests.sandbox.meta.conftest import Graph, error_of
from tests.support.clock import away_from_midnight

ACT = fx.AD_ACCOUNT_ID


# ---- tokens ---------------------------------------------------------------------------------
async def test_long_lived_exchange_and_debug_token(graph: Graph) -> None:
    resp = await graph.http.get(
        "/v25.0/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": fx.APP_ID,
            "client_secret": fx.APP_SECRET,
            "fb_exchange_token": fx.SHORT_LIVED_USER_TOKEN,
        },
    )
    body = resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 5183944
    long_lived = body["access_token"]
    assert (await graph.get(ACT, token=long_lived, fields="currency")).json()["currency"] == "USD"
    debug = await graph.http.get(
        "/v25.0/debug_token", params={"input_token": long_lived, "access_token": fx.APP_ACCESS_TOKEN}
    )
    data = debug.json()["data"]
    assert data["is_valid"] is True and data["app_id"] == fx.APP_ID and data["type"] == "USER"
    assert data["expires_at"] > 0 and "ads_management" in data["scopes"]
    system = await graph.http.get(
        "/debug_token", params={"input_token": fx.SYSTEM_USER_TOKEN, "access_token": fx.APP_ACCESS_TOKEN}
    )
    assert system.json()["data"]["expires_at"] == 0 and system.json()["data"]["type"] == "SYSTEM_USER"
    bad_secret = await graph.http.get(
        "/v25.0/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": fx.APP_ID,
            "client_secret": "x",
            "fb_exchange_token": long_lived,
        },
    )
    assert (
        bad_secret.status_code == 400 and error_of(bad_secret)["message"] == "Error validating client secret."
    )


async def test_expired_invalid_missing_tokens_and_bearer(graph: Graph) -> None:
    seed = {
        "tokens": [
            {"access_token": "expired-tok", "expires_at": 1000, "accounts": ["*"]},
            {"access_token": "revoked-tok", "valid": False, "accounts": ["*"]},
            {"access_token": "read-only", "scopes": ["ads_read"], "accounts": ["*"], "expires_at": 0},
        ]
    }
    await graph.http.post("/_sandbox/seed", json=seed)
    err = error_of(resp := await graph.get(ACT, token="expired-tok"))
    assert resp.status_code == 400 and (err["code"], err["error_subcode"]) == (190, 463)
    assert err["type"] == "OAuthException"
    err = error_of(await graph.get(ACT, token="revoked-tok"))
    assert (err["code"], err["error_subcode"]) == (190, 467)
    assert error_of(await graph.get(ACT, token="garbage"))["code"] == 190
    assert error_of(await graph.http.get(f"/v25.0/{ACT}"))["code"] == 104
    bearer = await graph.http.get(
        f"/v25.0/{ACT}", headers={"Authorization": f"Bearer {fx.SYSTEM_USER_TOKEN}"}
    )
    assert bearer.json() == {"id": ACT}
    assert (await graph.get(ACT, token="read-only")).status_code == 200
    err = error_of(await graph.post(f"{ACT}/campaigns", {"name": "x"}, token="read-only"))
    assert err["code"] == 294
    await graph.http.post("/_sandbox/seed", json={"accounts": [{"id": "act_999"}]})
    assert error_of(await graph.get("act_999"))["code"] == 200
    debug = await graph.http.get(
        "/debug_token", params={"input_token": "expired-tok", "access_token": fx.APP_ACCESS_TOKEN}
    )
    assert debug.json()["data"]["is_valid"] is False


async def test_account_fields(graph: Graph) -> None:
    body = (
        await graph.get(
            ACT,
            fields="account_id,currency,timezone_name,timezone_offset_hours_utc,account_status,disable_reason,"
            "min_daily_budget,name,amount_spent,spend_cap",
        )
    ).json()
    assert body["account_id"] == fx.AD_ACCOUNT_NUMBER and body["currency"] == "USD"
    assert body["timezone_name"] == "America/New_York" and body["timezone_offset_hours_utc"] in (-4.0, -5.0)
    assert body["account_status"] == 1 and body["amount_spent"] == "0"
    err = error_of(await graph.get(ACT, fields="currency,bogus_field"))
    assert err["message"] == "(#100) Tried accessing nonexisting field (bogus_field) on node type (AdAccount)"
    assert error_of(await graph.get("120299999999999999"))["error_subcode"] == 33


# ---- rate limits ----------------------------------------------------------------------------
async def test_usage_headers_rise_and_limit_throttles(graph: Graph) -> None:
    await graph.config(rate_limits={"calls_per_window": 5, "window_s": 120})
    seen = []
    for _ in range(5):
        resp = await graph.get(ACT)
        assert resp.status_code == 200
        buc = json.loads(resp.headers["X-Business-Use-Case-Usage"])
        seen.append(buc[fx.AD_ACCOUNT_NUMBER][0]["call_count"])
        assert json.loads(resp.headers["X-Ad-Account-Usage"])["acc_id_util_pct"] >= 0
        assert "call_count" in json.loads(resp.headers["X-App-Usage"])
    assert seen == sorted(seen) and seen[-1] == 100 and seen[0] < seen[-1]
    resp = await graph.get(ACT)
    err = error_of(resp)
    assert (err["code"], err["error_subcode"], err["is_transient"]) == (80004, 2446079, True)
    row = json.loads(resp.headers["X-Business-Use-Case-Usage"])[fx.AD_ACCOUNT_NUMBER][0]
    assert row["estimated_time_to_regain_access"] > 0
    await graph.config(rate_limits={"error": "17"})
    assert error_of(await graph.get(ACT))["code"] == 17


# ---- review, funding and webhooks -----------------------------------------------------------
@pytest_asyncio.fixture(loop_scope="session")
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    async def verify(request: web.Request) -> web.Response:
        if request.query.get("hub.verify_token") != "vt-123":
            return web.Response(status=403)
        return web.Response(text=request.query["hub.challenge"])

    async def deliver(request: web.Request) -> web.Response:
        raw = await request.read()
        expected = "sha256=" + hmac.new(fx.APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", ""))
        got.append({"ok": ok, "body": json.loads(raw), "sha1": request.headers.get("X-Hub-Signature", "")})
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.get("/hook", verify), web.post("/hook", deliver)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/hook", got
    await runner.cleanup()


async def _subscribe(graph: Graph, url: str, verify_token: str = "vt-123") -> httpx.Response:
    data = {
        "object": "ad_account",
        "callback_url": url,
        "fields": "in_process_ad_objects,with_issues_ad_objects",
        "verify_token": verify_token,
    }
    return await graph.post(f"{fx.APP_ID}/subscriptions", data, token=fx.APP_ACCESS_TOKEN)


async def test_review_disapproval_delivers_signed_webhook(graph: Graph, receiver: tuple[str, list]) -> None:
    url, got = receiver
    err = error_of(await _subscribe(graph, url, verify_token="wrong"))
    assert err["code"] == 2200
    assert (await _subscribe(graph, url)).json() == {"success": True}
    subs = (await graph.get(f"{fx.APP_ID}/subscriptions", token=fx.APP_ACCESS_TOKEN)).json()["data"]
    assert subs[0]["object"] == "ad_account" and subs[0]["callback_url"] == url
    assert (await graph.post(f"{ACT}/subscribed_apps", {"app_id": fx.APP_ID})).json() == {"success": True}
    ids = await graph.tree()
    feedback = {"global": {"Text": "Too much text"}}
    await graph.fault(
        effect="disapprove", match={"method": "POST", "path": "/ads$"}, params={"feedback": feedback}
    )
    second = await graph.ad(ids["adset"], ids["creative"], name="ar-a2")
    assert (await graph.get(second, fields="effective_status")).json()["effective_status"] == "PENDING_REVIEW"
    await asyncio.sleep(0.6)
    first = (await graph.get(ids["ad"], fields="effective_status")).json()
    assert first["effective_status"] == "ACTIVE"
    body = (await graph.get(second, fields="effective_status,ad_review_feedback")).json()
    assert body["effective_status"] == "DISAPPROVED" and body["ad_review_feedback"] == feedback
    for _ in range(20):
        if len(got) >= 2:
            break
        await asyncio.sleep(0.05)
    assert all(d["ok"] and d["sha1"].startswith("sha1=") for d in got)
    values = {c["value"]["id"]: c["value"] for d in got for e in d["body"]["entry"] for c in e["changes"]}
    assert values[second]["status_name"] == "DISAPPROVED" and values[second]["level"] == "AD"
    assert values[ids["ad"]]["status_name"] == "ACTIVE"
    assert got[0]["body"]["object"] == "ad_account"
    assert got[0]["body"]["entry"][0]["id"] == fx.AD_ACCOUNT_NUMBER


async def test_parents_pause_and_unfund(graph: Graph) -> None:
    ids = await graph.tree()
    await asyncio.sleep(0.4)
    assert (await graph.get(ids["ad"], fields="effective_status")).json()["effective_status"] == "ACTIVE"
    await graph.post(ids["adset"], {"status": "PAUSED"})
    assert (await graph.get(ids["ad"], fields="effective_status")).json()[
        "effective_status"
    ] == "ADSET_PAUSED"
    await graph.post(ids["campaign"], {"status": "PAUSED"})
    await graph.post(ids["adset"], {"status": "ACTIVE"})
    for key in ("adset", "ad"):
        body = (await graph.get(ids[key], fields="effective_status")).json()
        assert body["effective_status"] == "CAMPAIGN_PAUSED", key
    await graph.post(ids["campaign"], {"status": "ACTIVE"})
    await graph.fault(effect="unfund", match={"method": "GET", "path": f"/{ACT}$"})
    assert (await graph.get(ACT, fields="account_status")).json()["account_status"] == 3
    assert (await graph.get(ids["ad"], fields="effective_status")).json()[
        "effective_status"
    ] == "PENDING_BILLING_INFO"


# ---- video ------------------------------------------------------------------------------------
async def test_chunked_video_upload_and_processing(graph: Graph) -> None:
    await graph.config(switches={"video_chunk_size": 10})
    payload = bytes(range(25))
    start = (await graph.post(f"{ACT}/advideos", {"upload_phase": "start", "file_size": len(payload)})).json()
    assert set(start) == {"video_id", "upload_session_id", "start_offset", "end_offset"}
    assert (start["start_offset"], start["end_offset"]) == ("0", "10")
    session, offset, end = start["upload_session_id"], int(start["start_offset"]), int(start["end_offset"])
    wrong = await graph.post(
        f"{ACT}/advideos",
        {"upload_phase": "transfer", "upload_session_id": session, "start_offset": 5},
        files={"video_file_chunk": ("c", payload[5:10], "application/octet-stream")},
    )
    err = error_of(wrong)
    assert err["error_subcode"] == 1363037 and json.loads(err["error_data"])["start_offset"] == "0"
    while offset < end:
        resp = await graph.post(
            f"{ACT}/advideos",
            {"upload_phase": "transfer", "upload_session_id": session, "start_offset": offset},
            files={"video_file_chunk": ("c", payload[offset:end], "application/octet-stream")},
        )
        window = resp.json()
        offset, end = int(window["start_offset"]), int(window["end_offset"])
    assert offset == len(payload)
    done = await graph.post(
        f"{ACT}/advideos", {"upload_phase": "finish", "upload_session_id": session, "title": "ar-v"}
    )
    assert done.json() == {"success": True}
    vid = start["video_id"]
    assert (await graph.get(vid, fields="status")).json()["status"]["video_status"] == "processing"
    await asyncio.sleep(0.35)
    assert (await graph.get(vid, fields="status,title")).json()["status"]["video_status"] == "ready"


# ---- insights ------------------------------------------------------------------------------------
async def test_insights_sync_and_async(graph: Graph) -> None:
    await away_from_midnight(fx.AD_ACCOUNT_TIMEZONE)  # delivery begins "today" and last_7d ends yesterday
    ids = await graph.tree()
    await asyncio.sleep(0.5)
    params = {"fields": "impressions,clicks,spend,ad_id", "date_preset": "today", "level": "ad"}
    rows = (await graph.get(f"{ids['campaign']}/insights", **params)).json()["data"]
    assert len(rows) == 1 and rows[0]["ad_id"] == ids["ad"]
    assert isinstance(rows[0]["impressions"], str) and int(rows[0]["impressions"]) > 0
    assert "." in rows[0]["spend"]
    await asyncio.sleep(0.2)
    later = (await graph.get(f"{ids['campaign']}/insights", **params)).json()["data"]
    assert int(later[0]["impressions"]) > int(rows[0]["impressions"])
    daily = (
        await graph.get(f"{ACT}/insights", fields="impressions", date_preset="last_7d", time_increment=1)
    ).json()
    assert daily["data"] == []  # delivery began today; last_7d ends yesterday
    err = error_of(await graph.get(f"{ACT}/insights", fields="impressions,bogus"))
    assert "is not valid for fields param" in err["message"]
    run = (
        await graph.post(
            f"{ACT}/insights", {"fields": "impressions,spend", "date_preset": "today", "level": "campaign"}
        )
    ).json()
    run_id = run["report_run_id"]
    status = (await graph.get(run_id)).json()
    assert status["async_status"] in {"Job Not Started", "Job Running"}
    assert error_of(await graph.get(f"{run_id}/insights"))["code"] == 100
    await asyncio.sleep(0.35)
    status = (await graph.get(run_id)).json()
    assert status["async_status"] == "Job Completed" and status["async_percent_completion"] == 100
    first = (await graph.get(f"{run_id}/insights")).json()["data"]
    await asyncio.sleep(0.1)
    again = (await graph.get(f"{run_id}/insights")).json()["data"]
    assert first == again and int(first[0]["impressions"]) > 0


async def test_spend_of_each_level_adds_up_to_the_level_above_to_the_cent(graph: Graph) -> None:
    """Each row's spend is whole cents, so a tracker that stores every level sees them agree."""
    now = time.time()
    start, end = now - 5 * 86400 + 1234.5, now - 3600
    objects: list[dict[str, Any]] = [
        {"kind": "campaign", "id": "771", "name": "c", "account_id": ACT, "status": "ACTIVE",
         "created_at": start - 60, "fields": {"objective": "OUTCOME_TRAFFIC"}},
    ]  # fmt: skip
    for s in range(3):
        objects.append({"kind": "adset", "id": f"772{s}", "name": f"s{s}", "account_id": ACT,
                        "parent_id": "771", "status": "ACTIVE", "created_at": start - 60, "fields": {}})  # fmt: skip
        for a in range(4):
            active = [[start + 977.3 * (s * 4 + a), end - 311.7 * a]]
            objects.append({"kind": "ad", "id": f"773{s}{a}", "name": f"a{s}{a}", "account_id": ACT,
                            "parent_id": f"772{s}", "status": "PAUSED", "created_at": start - 60,
                            "fields": {"_active": active}})  # fmt: skip
    assert (await graph.http.post("/_sandbox/seed", json={"objects": objects})).status_code == 200

    def cents(rows: list[dict[str, Any]]) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in rows:
            out[row["date_start"]] = out.get(row["date_start"], 0) + round(float(row["spend"]) * 100)
        return out

    by_level = {}
    for level in ("campaign", "adset", "ad"):
        params = {
            "fields": "spend",
            "date_preset": "last_7d",
            "time_increment": 1,
            "level": level,
            "limit": 500,
        }
        by_level[level] = cents((await graph.get("771/insights", **params)).json()["data"])
    assert len(by_level["campaign"]) >= 4 and all(v > 0 for v in by_level["campaign"].values())
    assert by_level["adset"] == by_level["campaign"] and by_level["ad"] == by_level["campaign"]


# ---- fault effects ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("effect", "params", "status", "code", "subcode"),
    [
        ("expired_token", {}, 400, 190, 463),
        ("invalid_token", {}, 400, 190, 467),
        ("permission", {}, 400, 200, None),
        ("rate_limit", {}, 400, 80004, 2446079),
        ("rate_limit", {"code": "613"}, 400, 613, 1487742),
        ("transient", {}, 500, 2, None),
        ("transient", {"code": 1}, 500, 1, 99),
        ("meta_1487390", {}, 400, 100, 1487390),
        ("budget_too_low", {}, 400, 100, 1885272),
        ("deprecated_version", {}, 400, 2635, None),
        ("not_found", {}, 400, 100, 33),
        ("validation", {}, 400, 100, None),
    ],
)
async def test_fault_effects_answer_meta_errors(
    graph: Graph, effect: str, params: dict, status: int, code: int, subcode: int | None
) -> None:
    await graph.fault(effect=effect, match={"method": "POST", "path": "/campaigns$"}, params=params, count=1)
    resp = await graph.post(
        f"{ACT}/campaigns",
        {
            "name": "x",
            "objective": "OUTCOME_TRAFFIC",
            "special_ad_categories": [],
            "is_adset_budget_sharing_enabled": 0,
        },
    )
    err = error_of(resp)
    assert resp.status_code == status and err["code"] == code and err.get("error_subcode") == subcode
    assert "fbtrace_id" in err
    if effect == "rate_limit":
        row = json.loads(resp.headers["X-Business-Use-Case-Usage"])[fx.AD_ACCOUNT_NUMBER][0]
        assert row["estimated_time_to_regain_access"] > 0
    if effect == "meta_1487390":
        assert err["is_transient"] is False and err["error_user_title"] == "Adcreative Create Failed"
    assert await graph.objects("campaign") == []
    ok = await graph.post(
        f"{ACT}/campaigns",
        {
            "name": "x",
            "objective": "OUTCOME_TRAFFIC",
            "special_ad_categories": [],
            "is_adset_budget_sharing_enabled": 0,
        },
    )
    assert ok.status_code == 200


async def test_drop_after_apply_applies_the_write(graph: Graph) -> None:
    await graph.fault(effect="drop_after_apply", match={"method": "POST", "path": "/campaigns$"}, count=1)
    with pytest.raises(httpx.HTTPError):
        await graph.post(
            f"{ACT}/campaigns",
            {
                "name": "ar-dropped",
                "objective": "OUTCOME_TRAFFIC",
                "special_ad_categories": [],
                "is_adset_budget_sharing_enabled": 0,
            },
        )
    rows = await graph.objects("campaign")
    assert [r["name"] for r in rows] == ["ar-dropped"]
    flt = [{"field": "name", "operator": "CONTAIN", "value": "ar-dropped"}]
    found = (await graph.get(f"{ACT}/campaigns", fields="name", filtering=flt)).json()["data"]
    assert [r["name"] for r in found] == ["ar-dropped"]


async def test_deprecated_version_switch(graph: Graph) -> None:
    await graph.config(switches={"deprecated_versions": ["v17.0"]})
    resp = await graph.http.get(f"/v17.0/{ACT}", params={"access_token": fx.SYSTEM_USER_TOKEN})
    assert error_of(resp)["code"] == 2635
    assert (
        await graph.http.get(f"/v21.0/{ACT}", params={"access_token": fx.SYSTEM_USER_TOKEN})
    ).status_code == 200
