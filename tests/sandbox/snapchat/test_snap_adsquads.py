"""Ad squads: the recorded response shape, every validation rule, PUT and DELETE."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.snapchat import fixtures as fx

from .support import ACCOUNT, Snap, entity, item_error, squad_item


async def post_squad(snap: Snap, parent: str, /, **overrides: Any) -> dict[str, Any]:
    r = await snap.post(f"/v1/campaigns/{parent}/adsquads", {"adsquads": [squad_item(parent, **overrides)]})
    assert r.status_code == 200
    return dict(r.json())


async def test_create_answers_with_the_recorded_shape_and_defaults(snap: Snap) -> None:
    campaign = await snap.campaign()
    body = await post_squad(
        snap, campaign["id"], bid_strategy="LOWEST_COST_WITH_MAX_BID", bid_micro=2_000_000, status=None
    )
    squad = entity(body, "adsquads")
    assert squad["status"] == "PAUSED"  # default when omitted (recorded)
    assert squad["targeting"] == {
        "regulated_content": False,
        "geos": [{"country_code": "us"}],
        "enable_targeting_expansion": True,
        "auto_expansion_options": {
            "interest_expansion_option": {"enabled": True},
            "custom_audience_expansion_option": {"enabled": True},
        },
    }
    assert squad["targeting_reach_status"] == "VALID"
    assert (squad["auto_bid"], squad["target_bid"]) == (False, False)
    assert squad["bid_micro"] == 2_000_000
    assert squad["delivery_constraint"] == "DAILY_BUDGET"
    assert squad["pacing_type"] == "STANDARD"
    assert squad["creation_state"] == "PUBLISHED"
    assert squad["skadnetwork_properties"] == {"status": "NEVER_ENROLLED"}
    assert squad["placement_v2"] == {"config": "AUTOMATIC"}


async def test_auto_bid_and_target_cost_flags(snap: Snap) -> None:
    campaign = await snap.campaign()
    auto = entity(await post_squad(snap, campaign["id"]), "adsquads")
    assert (auto["auto_bid"], auto["target_bid"], "bid_micro" in auto) == (True, False, False)
    target = entity(
        await post_squad(snap, campaign["id"], bid_strategy="TARGET_COST", bid_micro=900_000), "adsquads"
    )
    assert (target["auto_bid"], target["target_bid"]) == (False, True)


async def test_lifetime_budget_with_end_time(snap: Snap) -> None:
    campaign = await snap.campaign()
    body = await post_squad(
        snap,
        campaign["id"],
        daily_budget_micro=None,
        lifetime_budget_micro=100_000_000,
        end_time="2030-02-01T00:00:00.000Z",
    )
    squad = entity(body, "adsquads")
    assert squad["delivery_constraint"] == "LIFETIME_BUDGET"
    assert squad["lifetime_budget_micro"] == 100_000_000
    assert "daily_budget_micro" not in squad


GEO_MULTI = {"geos": [{"country_code": "us"}, {"country_code": "ca"}]}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"campaign_id": None}, "campaign_id is required"),
        ({"name": ""}, "name is required"),
        ({"type": "STORY_ADS"}, "Invalid type"),
        ({"billing_event": None}, "billing_event is required"),
        ({"billing_event": "CPM"}, "Invalid billing_event"),
        ({"bid_strategy": None}, "bid_strategy is required"),
        ({"bid_strategy": "MIN_ROAS"}, "deprecated"),
        ({"bid_strategy": "AUTO_BID", "bid_micro": 1_000_000}, "bid_micro must not be set"),
        ({"bid_strategy": "LOWEST_COST_WITH_MAX_BID"}, "E2771"),
        ({"bid_strategy": "TARGET_COST"}, "Bid is required on ad squad"),
        ({"targeting": None}, "targeting is required"),
        ({"targeting": {"geos": []}}, "targeting.geos is required"),
        ({"targeting": {"demographics": [{"min_age": 18}]}}, "targeting.geos is required"),
        ({"targeting": {"geos": [{"country_code": "US"}]}}, "lowercase"),
        ({"targeting": {"geos": [{"country_code": "usa"}]}}, "lowercase two-letter"),
        ({"targeting": GEO_MULTI}, "languages"),
        (
            {"targeting": {"geos": [{"country_code": "us"}], "demographics": [{"gender": "OTHER"}]}},
            "Invalid gender",
        ),
        (
            {"targeting": {"geos": [{"country_code": "us"}], "demographics": [{"min_age": 12}]}},
            "between 13 and 50",
        ),
        ({"daily_budget_micro": None}, "One of daily_budget_micro or lifetime_budget_micro is required"),
        ({"lifetime_budget_micro": 50_000_000}, "Only one of"),
        ({"daily_budget_micro": 5_000_000.0}, "integer amount in micro-currency"),
        ({"daily_budget_micro": 12.5 * 1_000_000}, "integer amount in micro-currency"),
        ({"daily_budget_micro": "5000000"}, "integer amount in micro-currency"),
        ({"daily_budget_micro": 4_999_999}, "at least 5000000"),
        ({"daily_budget_micro": None, "lifetime_budget_micro": 50_000_000}, "end_time is required"),
        ({"optimization_goal": "CONVERSIONS"}, "Invalid optimization_goal"),
        ({"optimization_goal": "SWIPES"}, "not eligible for campaign objective AWARENESS_AND_ENGAGEMENT"),
        ({"start_time": "2030-01-01T00:00:00"}, "time zone"),
        ({"end_time": None}, "must not be null"),
        ({"end_time": "2029-01-01T00:00:00Z"}, "end_time must be after start_time"),
        ({"placement_v2": {"config": "SOMETIMES"}}, "Invalid config"),
        ({"placement_v2": {"config": "CUSTOM", "platforms": ["SNAPCHAT"]}}, "snapchat_positions"),
        ({"delivery_constraint": "LIFETIME_BUDGET"}, "does not match"),
    ],
)
async def test_invalid_ad_squads_are_refused(snap: Snap, overrides: dict[str, Any], fragment: str) -> None:
    campaign = await snap.campaign()
    body = await post_squad(snap, campaign["id"], **overrides)
    assert fragment in item_error(body, "adsquads")
    assert await snap.objects(kind="adsquad") == []


async def test_goal_eligibility_follows_the_campaign_objective(snap: Snap) -> None:
    traffic = await snap.campaign(objective_v2_properties={"objective_v2_type": "TRAFFIC"})
    ok = await post_squad(snap, traffic["id"], optimization_goal="SWIPES")
    assert ok["request_status"] == "SUCCESS"
    refused = await post_squad(snap, traffic["id"], optimization_goal="IMPRESSIONS")
    assert "not eligible" in item_error(refused, "adsquads")
    await snap.switches(enforce_objective_goal_eligibility=False)
    assert (await post_squad(snap, traffic["id"], optimization_goal="IMPRESSIONS"))[
        "request_status"
    ] == "SUCCESS"


async def test_pixel_goals_need_a_pixel_and_custom_placements_need_chat_feed(snap: Snap) -> None:
    sales = await snap.campaign(objective_v2_properties={"objective_v2_type": "SALES"})
    no_pixel = await post_squad(snap, sales["id"], optimization_goal="PIXEL_PURCHASE")
    assert "pixel_id is required" in item_error(no_pixel, "adsquads")
    custom = {
        "config": "CUSTOM",
        "platforms": ["SNAPCHAT"],
        "snapchat_positions": ["INTERSTITIAL_USER", "FEED"],
    }
    no_chat = await post_squad(
        snap,
        sales["id"],
        optimization_goal="PIXEL_PURCHASE",
        pixel_id="94c4845c-9e8f-4131-850a-5a675be35ed6",
        placement_v2=custom,
    )
    assert "E21011" in item_error(no_chat, "adsquads")
    custom["snapchat_positions"].append("CHAT_FEED")
    ok = await post_squad(
        snap,
        sales["id"],
        optimization_goal="PIXEL_PURCHASE",
        pixel_id="94c4845c-9e8f-4131-850a-5a675be35ed6",
        placement_v2=custom,
    )
    assert ok["request_status"] == "SUCCESS"


async def test_multi_country_with_a_language_is_accepted(snap: Snap) -> None:
    campaign = await snap.campaign()
    targeting = {**GEO_MULTI, "demographics": [{"languages": ["en"], "min_age": "18"}]}
    squad = entity(await post_squad(snap, campaign["id"], targeting=targeting), "adsquads")
    assert squad["targeting"]["demographics"] == [{"languages": ["en"], "min_age": "18"}]


async def test_unconfirmed_rules_can_be_switched_off(snap: Snap) -> None:
    campaign = await snap.campaign()
    await snap.switches(
        auto_bid_with_bid_micro="ignore",
        multi_country_requires_language=False,
        adsquad_requires_bid_strategy=False,
    )
    ignored = entity(await post_squad(snap, campaign["id"], bid_micro=1_000_000), "adsquads")
    assert "bid_micro" not in ignored
    assert (await post_squad(snap, campaign["id"], targeting=GEO_MULTI))["request_status"] == "SUCCESS"
    defaulted = entity(
        await post_squad(snap, campaign["id"], bid_strategy=None, bid_micro=700_000), "adsquads"
    )
    assert defaulted["bid_strategy"] == "LOWEST_COST_WITH_MAX_BID"


async def test_minimum_budget_is_per_ad_account_and_seedable(snap: Snap) -> None:
    await snap.seed(
        {
            "ad_accounts": [
                {
                    "id": "a0a0a0a0-0000-4000-8000-000000000001",
                    "organization_id": fx.DEMO_ORG_ID,
                    "name": "Low minimum",
                    "currency": "USD",
                    "timezone": "UTC",
                    "funding_source_ids": [fx.DEMO_FUNDING_SOURCE_ID],
                    "min_daily_budget_micro": 1_000_000,
                }
            ]
        }
    )
    low = await snap.create(
        "/v1/adaccounts/a0a0a0a0-0000-4000-8000-000000000001/campaigns",
        "campaigns",
        {"name": "c", "status": "PAUSED", "start_time": "2030-01-01T00:00:00Z"},
    )
    assert (await post_squad(snap, low["id"], daily_budget_micro=1_000_000))["request_status"] == "SUCCESS"
    demo = await snap.campaign()
    assert "at least 5000000" in item_error(
        await post_squad(snap, demo["id"], daily_budget_micro=1_000_000), "adsquads"
    )


async def test_put_without_placement_v2_is_e2025_and_with_it_updates(snap: Snap) -> None:
    campaign = await snap.campaign()
    squad = await snap.adsquad(campaign["id"])
    path = f"/v1/campaigns/{campaign['id']}/adsquads"
    without = {k: v for k, v in squad.items() if k != "placement_v2"}
    reason = item_error((await snap.put(path, {"adsquads": [without]})).json(), "adsquads")
    assert reason.startswith("Error code: E2025")
    r = await snap.put(path, {"adsquads": [dict(squad, daily_budget_micro=6_000_000, name="renamed")]})
    updated = entity(r.json(), "adsquads")
    assert (updated["daily_budget_micro"], updated["name"]) == (6_000_000, "renamed")
    assert updated["created_by_user"] == fx.DEMO_USER_ID
    moved = dict(squad, campaign_id=(await snap.campaign())["id"])
    assert "does not match" in item_error((await snap.put(path, {"adsquads": [moved]})).json(), "adsquads")


async def test_lists_and_delete(snap: Snap) -> None:
    campaign = await snap.campaign()
    first = await snap.adsquad(campaign["id"], name="first")
    await snap.adsquad(campaign["id"], name="second")
    by_campaign = (await snap.get(f"/v1/campaigns/{campaign['id']}/adsquads")).json()
    assert list(by_campaign) == ["request_status", "request_id", "paging", "adsquads"]
    assert by_campaign["paging"] == {}
    assert len(by_campaign["adsquads"]) == 2
    by_account = (await snap.get(f"/v1/adaccounts/{ACCOUNT}/adsquads")).json()["adsquads"]
    assert len(by_account) == 2
    deleted = await snap.delete(f"/v1/adsquads/{first['id']}")
    assert deleted.json() == {
        "request_status": "SUCCESS",
        "request_id": deleted.json()["request_id"],
        "adsquads": [],
    }
    assert len((await snap.get(f"/v1/campaigns/{campaign['id']}/adsquads")).json()["adsquads"]) == 1
    assert (await snap.get(f"/v1/adsquads/{first['id']}")).status_code == 404
    unknown = await snap.post(
        "/v1/campaigns/00000000-0000-4000-8000-000000000000/adsquads", {"adsquads": [{}]}
    )
    assert unknown.status_code == 404


async def test_plain_get_hides_placement_v2_so_get_then_put_fails_like_live(snap: Snap) -> None:
    campaign = await snap.campaign()
    created = await snap.adsquad(campaign["id"], placement_v2={"config": "AUTOMATIC"})
    plain = entity((await snap.get(f"/v1/adsquads/{created['id']}")).json(), "adsquads")
    assert plain["placement"] == "UNSUPPORTED" and "placement_v2" not in plain
    listed = (await snap.get(f"/v1/campaigns/{campaign['id']}/adsquads")).json()["adsquads"][0]["adsquad"]
    assert listed["placement"] == "UNSUPPORTED"
    path = f"/v1/campaigns/{campaign['id']}/adsquads"
    naive_update = dict(plain, daily_budget_micro=7_000_000)
    assert "E2025" in item_error((await snap.put(path, {"adsquads": [naive_update]})).json(), "adsquads")
    flagged = entity(
        (await snap.get(f"/v1/adsquads/{created['id']}", return_placement_v2="true")).json(), "adsquads"
    )
    assert flagged["placement_v2"] == {"config": "AUTOMATIC"} and "placement" not in flagged
    done = await snap.put(path, {"adsquads": [dict(flagged, daily_budget_micro=7_000_000)]})
    assert entity(done.json(), "adsquads")["daily_budget_micro"] == 7_000_000


async def test_a_squad_without_placement_v2_keeps_the_legacy_placement(snap: Snap) -> None:
    campaign = await snap.campaign()
    created = await snap.adsquad(campaign["id"], placement_v2=None)
    assert created["placement"] == "SNAP_ADS" and "placement_v2" not in created
    read = entity((await snap.get(f"/v1/adsquads/{created['id']}")).json(), "adsquads")
    path = f"/v1/campaigns/{campaign['id']}/adsquads"
    updated = entity((await snap.put(path, {"adsquads": [dict(read, name="legacy ok")]})).json(), "adsquads")
    assert (updated["name"], updated["placement"]) == ("legacy ok", "SNAP_ADS")
    flagged = entity(
        (await snap.get(f"/v1/adsquads/{created['id']}", return_placement_v2="true")).json(), "adsquads"
    )
    assert flagged["placement_v2"]["config"] == "CUSTOM"  # Snap's translation of the legacy default
