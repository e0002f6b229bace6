"""Fault effects in Snap's own error shapes, state faults (disapprove is in test_snap_creatives_ads,
unfund here), drop-after-apply, and the inspection API."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import httpx
import pytest

from sandbox.snapchat import fixtures as fx

from .support import ACCOUNT, Snap, entity, item_error, squad_item

ACCOUNT_PATH = f"/v1/adaccounts/{ACCOUNT}"
ENVELOPE = {"request_status", "request_id", "debug_message", "display_message", "error_code"}


@pytest.mark.parametrize(
    ("effect", "status", "code"),
    [
        ("expired_token", 401, "E3002"),
        ("invalid_token", 401, "E3002"),
        ("permission", 403, "E3003"),
        ("not_found", 404, "E3004"),
        ("transient", 503, "E5002"),
        ("validation", 400, "E1008"),
        ("budget_too_low", 400, "E1008"),
        ("rate_limit", 429, "E3005"),
    ],
)
async def test_error_effects_answer_in_snap_envelopes(
    snap: Snap, effect: str, status: int, code: str
) -> None:
    await snap.fault(effect=effect, method="GET", path=f"^{ACCOUNT_PATH}$", count=1)
    r = await snap.get(ACCOUNT_PATH)
    assert r.status_code == status
    body = r.json()
    assert set(body) == ENVELOPE
    assert (body["request_status"], body["error_code"]) == ("ERROR", code)
    assert r.headers["X-Request-Id"] == body["request_id"]
    assert (await snap.get(ACCOUNT_PATH)).status_code == 200  # count=1: fired once
    [entry, after] = [e for e in await snap.requests_log() if e["path"] == ACCOUNT_PATH]
    assert entry["faults"] == [effect] and entry["status"] == status
    assert after["faults"] == [] and after["status"] == 200


async def test_rate_limit_effect_carries_the_headers(snap: Snap) -> None:
    await snap.fault(effect="rate_limit", method="POST", path="/campaigns$", params={"retry_after_s": 3})
    r = await snap.post(f"{ACCOUNT_PATH}/campaigns", {"campaigns": [{"name": "x"}]})
    assert r.status_code == 429
    assert r.headers["X-Rate-Limit-Remaining"] == "0"
    assert int(r.headers["X-Rate-Limit-Reset"]) > time.time() * 1000
    assert r.headers["Retry-After"] == "3"
    assert await snap.objects(kind="campaign") == []


async def test_transient_status_can_be_500(snap: Snap) -> None:
    await snap.fault(effect="transient", path="/campaigns$", params={"status": 500})
    r = await snap.get(f"{ACCOUNT_PATH}/campaigns")
    assert (r.status_code, r.json()["error_code"]) == (500, "E5001")


async def test_budget_too_low_on_a_write_is_a_per_item_error_like_the_real_one(snap: Snap) -> None:
    campaign = await snap.campaign()
    await snap.fault(effect="budget_too_low", method="POST", path="/adsquads$")
    path = f"/v1/campaigns/{campaign['id']}/adsquads"
    r = await snap.post(path, {"adsquads": [squad_item(campaign["id"])]})
    assert r.status_code == 200  # like a real too-low budget (switch batch_item_error_status)
    reason = item_error(r.json(), "adsquads")
    assert "daily_budget_micro must be at least 5000000" in reason
    real = await snap.http.delete("/_sandbox/faults")
    assert real.status_code == 200
    genuine = await snap.post(path, {"adsquads": [squad_item(campaign["id"], daily_budget_micro=1)]})
    assert "at least 5000000" in item_error(genuine.json(), "adsquads")
    await snap.fault(effect="budget_too_low", method="POST", path="/adsquads$", params={"status": 400})
    assert (await snap.post(path, {"adsquads": [squad_item(campaign["id"])]})).status_code == 400
    assert await snap.objects(kind="adsquad") == []


async def test_validation_effect_on_a_batch_write(snap: Snap) -> None:
    await snap.fault(
        effect="validation", method="POST", path="/campaigns$", params={"message": "name is invalid"}
    )
    r = await snap.post(f"{ACCOUNT_PATH}/campaigns", {"campaigns": [{"name": "a"}, {"name": "b"}]})
    body = r.json()
    assert [e["sub_request_status"] for e in body["campaigns"]] == ["ERROR", "ERROR"]
    assert "name is invalid" in body["campaigns"][0]["sub_request_error_reason"]


@pytest.mark.parametrize("effect", ["meta_1487390", "deprecated_version"])
async def test_effects_snap_does_not_have_are_refused(snap: Snap, effect: str) -> None:
    await snap.fault(effect=effect, path="/v1/me$")
    r = await snap.get("/v1/me")
    assert r.status_code == 400
    assert "does not support effect" in r.text


async def test_drop_after_apply_performs_the_write_but_the_client_never_hears(snap: Snap) -> None:
    await snap.fault(effect="drop_after_apply", method="POST", path="/campaigns$", count=1)
    with pytest.raises(httpx.TransportError):
        await snap.post(
            f"{ACCOUNT_PATH}/campaigns",
            {
                "campaigns": [
                    {"name": "ar-9d1e0f lost", "status": "PAUSED", "start_time": "2030-01-01T00:00:00Z"}
                ]
            },
        )
    [row] = await snap.objects(kind="campaign")
    assert row["name"] == "ar-9d1e0f lost"
    listed = (await snap.get(f"{ACCOUNT_PATH}/campaigns", limit=1000)).json()["campaigns"]
    assert [c["campaign"]["name"] for c in listed] == ["ar-9d1e0f lost"]  # found again by a lookup scan
    dropped = [e for e in await snap.requests_log() if e["method"] == "POST"]
    assert dropped[0]["status"] == "dropped"


async def test_latency_effect(snap: Snap) -> None:
    await snap.fault(effect="latency", latency_ms=300, path="/v1/me$")
    started = time.perf_counter()
    assert (await snap.get("/v1/me")).status_code == 200
    assert time.perf_counter() - started >= 0.3


async def test_unfund_invalidates_the_funding_source_and_stops_delivery(snap: Snap) -> None:
    await snap.switches(metrics_impressions_per_s=200.0)
    tree = await snap.tree()
    ad_id = tree["ad"]["id"]
    await asyncio.sleep(0.5)  # approved and delivering
    today = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    window = {
        "granularity": "TOTAL",
        "start_time": (today - timedelta(days=1)).isoformat(),
        "end_time": (today + timedelta(days=2)).isoformat(),
    }
    before = (await snap.get(f"/v1/ads/{ad_id}/stats", **window)).json()
    assert before["total_stats"][0]["total_stat"]["stats"]["impressions"] > 0

    await snap.fault(effect="unfund", method="GET", path=f"^{ACCOUNT_PATH}$", count=1)
    account = entity((await snap.get(ACCOUNT_PATH)).json(), "adaccounts")
    assert account["status"] == "PAUSED"
    source = entity(
        (await snap.get(f"/v1/fundingsources/{fx.DEMO_FUNDING_SOURCE_ID}")).json(), "fundingsources"
    )
    assert source["status"] == "SPENT"
    assert source["available_credit_micro"] == 0

    frozen = (await snap.get(f"/v1/ads/{ad_id}/stats", **window)).json()["total_stats"][0]["total_stat"][
        "stats"
    ]
    await asyncio.sleep(0.2)
    later = (await snap.get(f"/v1/ads/{ad_id}/stats", **window)).json()["total_stats"][0]["total_stat"][
        "stats"
    ]
    assert later == frozen
    ad = entity((await snap.get(f"/v1/ads/{ad_id}")).json(), "ads")
    assert "INVALID_NOT_EFFECTIVE_ACTIVE" in ad["delivery_status"]
    assert ad["review_status"] == "APPROVED"


async def test_inspection_reflects_every_create_and_delete(snap: Snap) -> None:
    tree = await snap.tree()
    rows = {r["id"]: r for r in await snap.objects()}
    for kind in ("campaign", "adsquad", "ad", "creative", "media"):
        row = rows[tree[kind]["id"]]
        assert row["kind"] == kind
        assert row["deleted"] is False
        assert row["account_id"] == ACCOUNT
        assert {"id", "name", "parent_id", "status", "created_at"} <= set(row)
    assert rows[tree["ad"]["id"]]["parent_id"] == tree["adsquad"]["id"]
    assert rows[tree["adsquad"]["id"]]["parent_id"] == tree["campaign"]["id"]
    assert rows[tree["campaign"]["id"]]["name"] == "ar-c1 Campaign"
    assert {r["kind"] for r in rows.values()} >= {"organization", "fundingsource", "adaccount"}
    await snap.delete(f"/v1/ads/{tree['ad']['id']}")
    [deleted] = await snap.objects(kind="ad", deleted="true")
    assert deleted["id"] == tree["ad"]["id"]


async def test_an_unfunded_account_still_takes_campaigns_but_no_ad_squads(snap: Snap) -> None:
    await snap.fault(effect="unfund", method="GET", path=f"^{ACCOUNT_PATH}$", count=1)
    await snap.get(ACCOUNT_PATH)
    campaign = await snap.campaign()  # campaigns, media and creatives need no funding
    r = await snap.post(
        f"/v1/campaigns/{campaign['id']}/adsquads", {"adsquads": [squad_item(campaign["id"])]}
    )
    assert "no active funding source" in item_error(r.json(), "adsquads")
    await snap.switches(adsquad_requires_funding=False)
    r = await snap.post(
        f"/v1/campaigns/{campaign['id']}/adsquads", {"adsquads": [squad_item(campaign["id"])]}
    )
    assert r.json()["request_status"] == "SUCCESS"
