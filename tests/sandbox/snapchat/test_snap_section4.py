"""Every Snapchat row of platform-apis.md §4 ("Where seed-style code breaks") is refused as the
platform refuses it."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from sandbox.snapchat import fixtures as fx

from .support import ACCOUNT, Snap, item_error, squad_item

CAMPAIGNS = f"/v1/adaccounts/{ACCOUNT}/campaigns"


async def test_row_legacy_objective(snap: Snap) -> None:
    """Seed code sends `objective` from a map; the platform wants objective_v2_properties."""
    legacy = {
        "name": "seed",
        "status": "ACTIVE",
        "start_time": "2030-01-01T00:00:00Z",
        "objective": "WEB_CONVERSION",
    }
    assert "objective_v2_properties" in item_error(
        (await snap.post(CAMPAIGNS, {"campaigns": [legacy]})).json(), "campaigns"
    )
    v2 = {k: v for k, v in legacy.items() if k != "objective"} | {
        "objective_v2_properties": {"objective_v2_type": "SALES"}
    }
    assert (await snap.post(CAMPAIGNS, {"campaigns": [v2]})).json()["request_status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"billing_event": None}, "billing_event is required"),
        ({"bid_strategy": None}, "bid_strategy is required"),
        ({"targeting": {}}, "targeting.geos is required"),
        ({"targeting": {"geos": [{"country_code": "US"}]}}, "lowercase"),
        ({"bid_strategy": "AUTO_BID", "bid_micro": 1_500_000}, "bid_micro must not be set"),
    ],
)
async def test_row_ad_squad_missing_fields_and_auto_bid_with_bid(
    snap: Snap, change: dict, fragment: str
) -> None:
    campaign = await snap.campaign()
    r = await snap.post(
        f"/v1/campaigns/{campaign['id']}/adsquads", {"adsquads": [squad_item(campaign["id"], **change)]}
    )
    assert fragment in item_error(r.json(), "adsquads")


@pytest.mark.parametrize("budget", [12.5 * 1_000_000, 5_000_000.0, 4_999_999, 0])
async def test_row_budget_from_floats_or_below_minimum(snap: Snap, budget: float) -> None:
    campaign = await snap.campaign()
    r = await snap.post(
        f"/v1/campaigns/{campaign['id']}/adsquads",
        {"adsquads": [squad_item(campaign["id"], daily_budget_micro=budget)]},
    )
    reason = item_error(r.json(), "adsquads")
    assert "integer amount" in reason or "at least 5000000" in reason


async def test_row_naive_start_time_and_null_end_time(snap: Snap) -> None:
    naive = datetime(2030, 1, 1, 9, 30).isoformat()
    base = {"name": "seed", "status": "PAUSED", "start_time": naive}
    assert "time zone" in item_error((await snap.post(CAMPAIGNS, {"campaigns": [base]})).json(), "campaigns")
    null_end = dict(base, start_time="2030-01-01T00:00:00.000Z", end_time=None)
    assert "must not be null" in item_error(
        (await snap.post(CAMPAIGNS, {"campaigns": [null_end]})).json(), "campaigns"
    )
    campaign = await snap.campaign()
    squad = await snap.post(
        f"/v1/campaigns/{campaign['id']}/adsquads",
        {"adsquads": [squad_item(campaign["id"], start_time=naive)]},
    )
    assert "time zone" in item_error(squad.json(), "adsquads")


async def test_row_one_hour_access_tokens_need_refreshing(snap: Snap) -> None:
    fresh = await snap.http.post(
        "/login/oauth2/access_token",
        data={
            "grant_type": "refresh_token",
            "client_id": fx.DEMO_CLIENT_ID,
            "client_secret": fx.DEMO_CLIENT_SECRET,
            "refresh_token": fx.DEMO_REFRESH_TOKEN,
        },
    )
    assert fresh.json()["expires_in"] == 3600
    await snap.switches(access_token_lifetime_s=1)
    short = (
        await snap.http.post(
            "/login/oauth2/access_token",
            data={
                "grant_type": "refresh_token",
                "client_id": fx.DEMO_CLIENT_ID,
                "client_secret": fx.DEMO_CLIENT_SECRET,
                "refresh_token": fresh.json()["refresh_token"],
            },
        )
    ).json()
    await asyncio.sleep(1.05)
    assert (await snap.get("/v1/me", token=short["access_token"])).status_code == 401


@pytest.mark.parametrize(
    "path", ["/v1/webhooks", f"/v1/adaccounts/{ACCOUNT}/subscriptions", "/v1/subscriptions"]
)
async def test_row_no_ads_webhooks_to_register(snap: Snap, path: str) -> None:
    r = await snap.post(path, {"events": ["AD_REVIEW"], "callback_url": "https://example.com/hook"})
    assert r.status_code == 404
