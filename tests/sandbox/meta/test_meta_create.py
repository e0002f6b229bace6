"""Create edges: spec-required params, enums, Meta's rules and every Meta row of platform-apis §4."""

from __future__ import annotations

import pytest

from sandbox.meta import fixtures as fx
from sandbox.meta import spec
from tests.sandbox.meta.conftest import PNG, Graph, error_of

ACT = fx.AD_ACCOUNT_ID


async def test_campaign_create_real_shape(graph: Graph) -> None:
    cid = await graph.campaign()
    assert cid.isdigit() and len(cid) == 18
    body = (
        await graph.get(cid, fields="name,objective,status,effective_status,special_ad_categories")
    ).json()
    assert body == {
        "name": "ar-c1 spring",
        "objective": "OUTCOME_TRAFFIC",
        "status": "PAUSED",
        "effective_status": "PAUSED",
        "special_ad_categories": [],
        "id": cid,
    }
    assert (await graph.get(cid)).json() == {"id": cid}


@pytest.mark.parametrize(
    ("edge", "node"),
    [("campaigns", "campaigns"), ("adsets", "adsets"), ("ads", "ads"), ("adlabels", "adlabels")],
)
async def test_every_spec_required_param_missing_is_code_100(graph: Graph, edge: str, node: str) -> None:
    required = [p.name for p in spec.params("AdAccount", "POST", node) or [] if p.required]
    assert required, edge
    for name in required:
        resp = await graph.post(f"{ACT}/{edge}", {"name": "x"} if name != "name" else {})
        err = error_of(resp)
        assert resp.status_code == 400
        assert err["code"] == 100 and err["type"] == "OAuthException"
        if name != "name":
            assert f"The parameter {name} is required" in err["message"]


async def test_enum_values_outside_the_spec_are_rejected(graph: Graph) -> None:
    cases = [
        ("campaigns", {"name": "x", "special_ad_categories": ["NOPE"], "objective": "OUTCOME_TRAFFIC"}),
        ("campaigns", {"name": "x", "special_ad_categories": [], "objective": "WIN_BIG"}),
        (
            "campaigns",
            {"name": "x", "special_ad_categories": [], "objective": "OUTCOME_TRAFFIC", "status": "ON"},
        ),
        ("adsets", {"name": "x", "billing_event": "VIEWS"}),
        ("adsets", {"name": "x", "optimization_goal": "CONVERSIONS"}),
        ("ads", {"name": "x", "creative": {"creative_id": "1"}, "status": "LIVE"}),
        ("advideos", {"upload_phase": "begin"}),
    ]
    for edge, data in cases:
        err = error_of(await graph.post(f"{ACT}/{edge}", data))
        assert err["code"] == 100
        assert "must be one of" in err["message"], err


async def test_validate_only_creates_nothing(graph: Graph) -> None:
    before = await graph.objects()
    data = {
        "name": "dry",
        "objective": "OUTCOME_TRAFFIC",
        "special_ad_categories": [],
        "is_adset_budget_sharing_enabled": False,
        "execution_options": ["validate_only"],
    }
    resp = await graph.post(f"{ACT}/campaigns", data)
    assert resp.json() == {"success": True}
    cid = await graph.campaign()
    resp = await graph.post(f"{ACT}/adsets", graph.adset_data(cid, execution_options=["validate_only"]))
    assert resp.json() == {"success": True}
    after = await graph.objects()
    assert len(after) == len(before) + 1  # only the real campaign
    # validate_only still validates
    bad = dict(data, objective="LINK_CLICKS")
    assert error_of(await graph.post(f"{ACT}/campaigns", bad))["code"] == 100


# ---- platform-apis §4, Meta rows ------------------------------------------------------------
async def test_s4_campaign_without_special_ad_categories(graph: Graph) -> None:
    data = {"name": "x", "objective": "OUTCOME_SALES", "is_adset_budget_sharing_enabled": False}
    err = error_of(await graph.post(f"{ACT}/campaigns", data))
    assert err["message"] == "(#100) The parameter special_ad_categories is required."


@pytest.mark.parametrize("legacy", ["CONVERSIONS", "LINK_CLICKS", "APP_INSTALLS", "BRAND_AWARENESS", "REACH"])
async def test_s4_legacy_objective_refused(graph: Graph, legacy: str) -> None:
    data = {
        "name": "x",
        "objective": legacy,
        "special_ad_categories": [],
        "is_adset_budget_sharing_enabled": 0,
    }
    err = error_of(await graph.post(f"{ACT}/campaigns", data))
    assert err["code"] == 100
    assert err["message"].startswith(f"(#100) Objective {legacy} is invalid. Use one of: OUTCOME_")


async def test_s4_bid_strategy_without_campaign_budget_and_budget_sharing_flag(graph: Graph) -> None:
    base = {"name": "x", "objective": "OUTCOME_TRAFFIC", "special_ad_categories": []}
    err = error_of(await graph.post(f"{ACT}/campaigns", base))
    assert err["error_subcode"] == 4834011
    assert err["error_user_title"] == "Must specify True or False in is_adset_budget_sharing_enabled field"
    with_bid = dict(base, is_adset_budget_sharing_enabled=False, bid_strategy="LOWEST_COST_WITHOUT_CAP")
    err = error_of(await graph.post(f"{ACT}/campaigns", with_bid))
    assert err["code"] == 100 and "campaign budget" in err["error_user_msg"]
    cbo = dict(base, daily_budget=5000, bid_strategy="LOWEST_COST_WITHOUT_CAP")
    assert (await graph.post(f"{ACT}/campaigns", cbo)).status_code == 200


async def test_s4_conversions_goal_and_offsite_conversions_needs_pixel(graph: Graph) -> None:
    cid = await graph.campaign(objective="OUTCOME_SALES")
    err = error_of(await graph.post(f"{ACT}/adsets", graph.adset_data(cid, optimization_goal="CONVERSIONS")))
    assert err["code"] == 100 and "must be one of" in err["message"]
    data = graph.adset_data(cid, optimization_goal="OFFSITE_CONVERSIONS")
    err = error_of(await graph.post(f"{ACT}/adsets", data))
    assert err["error_user_title"] == "Promoted Object Required"
    data["promoted_object"] = {"pixel_id": fx.PIXEL_ID, "custom_event_type": "PURCHASE"}
    assert (await graph.post(f"{ACT}/adsets", data)).status_code == 200


@pytest.mark.parametrize(
    ("currency", "good", "bad"),
    [("USD", 2000, 20), ("JPY", 5000, 50), ("HUF", 5000, 50), ("TWD", 600, 6)],
)
async def test_s4_money_per_currency_offset(graph: Graph, currency: str, good: int, bad: int) -> None:
    number = {"USD": "11", "JPY": "12", "HUF": "13", "TWD": "14"}[currency]
    seed = {
        "accounts": [{"id": f"act_{number}", "currency": currency, "timezone_name": "Asia/Tokyo"}],
        "tokens": [
            {"access_token": f"tok-{currency}", "app_id": fx.APP_ID, "accounts": ["*"], "expires_at": 0}
        ],
    }
    assert (await graph.http.post("/_sandbox/seed", json=seed)).status_code == 200
    g = Graph(graph.http, f"tok-{currency}")
    resp = await g.post(
        f"act_{number}/campaigns",
        {
            "name": "c",
            "objective": "OUTCOME_TRAFFIC",
            "special_ad_categories": [],
            "is_adset_budget_sharing_enabled": 0,
        },
    )
    cid = resp.json()["id"]
    ok = await g.post(f"act_{number}/adsets", g.adset_data(cid, daily_budget=good))
    assert ok.status_code == 200, ok.text
    assert (await g.get(ok.json()["id"], fields="daily_budget")).json()["daily_budget"] == str(good)
    err = error_of(await g.post(f"act_{number}/adsets", g.adset_data(cid, daily_budget=bad)))
    assert err["error_subcode"] == 1885272 and err["error_user_title"] == "Budget is too low"
    assert "must be more than" in err["error_user_msg"]
    minimums = (await g.get(f"act_{number}/minimum_budgets")).json()["data"][0]
    assert minimums["currency"] == currency
    for not_integer in ("20.50", "2000.0", "12e3"):
        err = error_of(await g.post(f"act_{number}/adsets", g.adset_data(cid, daily_budget=not_integer)))
        assert err["message"].startswith("(#100) Param daily_budget must be a non-negative integer")


async def test_s4_bid_amount_with_lowest_cost_without_cap(graph: Graph) -> None:
    cid = await graph.campaign()
    data = graph.adset_data(cid, bid_amount=300)
    err = error_of(await graph.post(f"{ACT}/adsets", data))
    assert err["code"] == 100 and err["error_user_title"] == "Bid Amount Not Supported"
    capped = graph.adset_data(cid, bid_strategy="COST_CAP")
    err = error_of(await graph.post(f"{ACT}/adsets", capped))
    assert err["error_subcode"] == 2490487
    capped["bid_amount"] = 300
    assert (await graph.post(f"{ACT}/adsets", capped)).status_code == 200
    no_strategy = graph.adset_data(cid)
    no_strategy.pop("bid_strategy")
    assert error_of(await graph.post(f"{ACT}/adsets", no_strategy))["error_subcode"] == 2490487


async def test_s4_advantage_audience_required_when_age_or_gender_customised(graph: Graph) -> None:
    cid = await graph.campaign()
    for targeting in (
        {"geo_locations": {"countries": ["US"]}, "age_min": 25},
        {"geo_locations": {"countries": ["US"]}, "genders": [1]},
    ):
        err = error_of(await graph.post(f"{ACT}/adsets", graph.adset_data(cid, targeting=targeting)))
        assert err["error_user_title"] == "Advantage Audience Flag Required"
        assert err["error_subcode"] == 1870227
        targeting["targeting_automation"] = {"advantage_audience": 0}
        assert (
            await graph.post(f"{ACT}/adsets", graph.adset_data(cid, targeting=targeting))
        ).status_code == 200
    assert (await graph.post(f"{ACT}/adsets", graph.adset_data(cid))).status_code == 200


async def test_s4_image_upload_response_is_keyed_by_file_name(graph: Graph) -> None:
    resp = await graph.post(f"{ACT}/adimages", files={"hero.png": ("banner.png", PNG, "image/png")})
    body = resp.json()
    assert set(body) == {"images"} and set(body["images"]) == {"banner.png"}
    assert set(body["images"]["banner.png"]) == {"hash", "url"}
    video = await graph.post(f"{ACT}/advideos", files={"source": ("v.mp4", b"\x00" * 64, "video/mp4")})
    assert set(video.json()) == {"id"}


# ---- other create rules ---------------------------------------------------------------------
async def test_goal_must_fit_objective(graph: Graph) -> None:
    cid = await graph.campaign(objective="OUTCOME_AWARENESS")
    err = error_of(await graph.post(f"{ACT}/adsets", graph.adset_data(cid, optimization_goal="LINK_CLICKS")))
    assert err["error_subcode"] == 2490408
    assert err["error_data"] == '{"blame_field_specs":[["optimization_goal"]]}'
    assert err["error_user_title"] == "Performance goal isn't available"
    ok = graph.adset_data(cid, optimization_goal="REACH")
    assert (await graph.post(f"{ACT}/adsets", ok)).status_code == 200


async def test_budget_on_campaign_and_adset(graph: Graph) -> None:
    cid = await graph.campaign(daily_budget=5000, is_adset_budget_sharing_enabled=None)
    err = error_of(await graph.post(f"{ACT}/adsets", graph.adset_data(cid)))
    assert err["error_subcode"] == 1885621
    data = graph.adset_data(cid)
    data.pop("daily_budget")
    assert (await graph.post(f"{ACT}/adsets", data)).status_code == 200


async def test_targeting_rules(graph: Graph) -> None:
    cid = await graph.campaign()
    bad = [
        {"geo_locations": {}},
        {"geo_locations": {"countries": ["us"]}},
        {
            "geo_locations": {"countries": ["US"]},
            "age_min": 12,
            "targeting_automation": {"advantage_audience": 0},
        },
        {
            "geo_locations": {"countries": ["US"]},
            "age_max": 70,
            "targeting_automation": {"advantage_audience": 0},
        },
        {
            "geo_locations": {"countries": ["US"]},
            "genders": [3],
            "targeting_automation": {"advantage_audience": 0},
        },
        {
            "geo_locations": {"countries": ["US"]},
            "age_max": 40,
            "targeting_automation": {"advantage_audience": 1},
        },
    ]
    for targeting in bad:
        resp = await graph.post(f"{ACT}/adsets", graph.adset_data(cid, targeting=targeting))
        assert error_of(resp)["code"] == 100, targeting
    resp = await graph.post(f"{ACT}/adsets", graph.adset_data(cid, targeting="{not json"))
    assert error_of(resp)["code"] == 100


async def test_lifetime_budget_needs_end_time_and_times_parse(graph: Graph) -> None:
    cid = await graph.campaign()
    data = graph.adset_data(cid, lifetime_budget=50000)
    data.pop("daily_budget")
    assert error_of(await graph.post(f"{ACT}/adsets", data))["error_user_title"] == "End Time Required"
    data["end_time"] = "2099-07-29T17:54:47-0700"
    data["start_time"] = "2099-07-20T17:54:47-0700"
    resp = await graph.post(f"{ACT}/adsets", data)
    assert resp.status_code == 200, resp.text
    body = (await graph.get(resp.json()["id"], fields="end_time,lifetime_budget")).json()
    assert body["end_time"] == "2099-07-29T20:54:47-0400"  # read back in the account's time zone
    assert body["lifetime_budget"] == "50000"
    data["end_time"] = "next tuesday"
    assert "valid datetime" in error_of(await graph.post(f"{ACT}/adsets", data))["message"]
    data["start_time"] = "4088000000"
    data["end_time"] = "4089000000"
    assert (await graph.post(f"{ACT}/adsets", data)).status_code == 200


async def test_creative_rules(graph: Graph) -> None:
    image_hash = await graph.image()
    story = {"page_id": fx.PAGE_ID, "link_data": {"link": "https://example.com/", "image_hash": image_hash}}
    cases = [
        ({"page_id": "999", "link_data": story["link_data"]}, "Invalid Page"),
        (
            {"page_id": fx.PAGE_ID, "link_data": {"link": "https://e.com/", "image_hash": "0" * 32}},
            "Invalid Image Hash",
        ),
        ({"page_id": fx.PAGE_ID}, None),
    ]
    for oss, title in cases:
        err = error_of(await graph.post(f"{ACT}/adcreatives", {"name": "k", "object_story_spec": oss}))
        assert err["code"] == 100
        if title:
            assert err["error_user_title"] == title
    cta = dict(story["link_data"], call_to_action={"type": "CLICK_HERE"})
    err = error_of(await graph.post(f"{ACT}/adcreatives", {"object_story_spec": dict(story, link_data=cta)}))
    assert "must be one of" in err["message"]
    err = error_of(await graph.post(f"{ACT}/adcreatives", {"name": "k" * 101, "object_story_spec": story}))
    assert "at most 100" in err["message"]
    ok = await graph.post(f"{ACT}/adcreatives", {"name": "k", "object_story_spec": story})
    assert ok.status_code == 200


async def test_video_creative_needs_ready_video_and_thumbnail(graph: Graph) -> None:
    vid = (
        await graph.post(f"{ACT}/advideos", files={"source": ("v.mp4", b"\x00" * 64, "video/mp4")})
    ).json()["id"]
    story = {"page_id": fx.PAGE_ID, "video_data": {"video_id": vid, "image_url": "https://e.com/t.jpg"}}
    err = error_of(await graph.post(f"{ACT}/adcreatives", {"object_story_spec": story}))
    assert err["error_user_title"] == "Video Not Ready"
    import asyncio

    await asyncio.sleep(0.35)
    no_thumb = {"page_id": fx.PAGE_ID, "video_data": {"video_id": vid}}
    err = error_of(await graph.post(f"{ACT}/adcreatives", {"object_story_spec": no_thumb}))
    assert err["error_user_title"] == "Video Thumbnail Required"
    assert (await graph.post(f"{ACT}/adcreatives", {"object_story_spec": story})).status_code == 200


async def test_ad_rules(graph: Graph) -> None:
    ids = await graph.tree()
    err = error_of(
        await graph.post(f"{ACT}/ads", {"name": "a", "creative": {"creative_id": ids["creative"]}})
    )
    assert err["message"] == "(#100) The parameter adset_id is required."
    bad_creative = {"name": "a", "adset_id": ids["adset"], "creative": {"creative_id": "123"}}
    assert error_of(await graph.post(f"{ACT}/ads", bad_creative))["code"] == 100
    err = error_of(await graph.post(f"{ACT}/ads", {"name": "a", "adset_id": ids["adset"], "creative": "x"}))
    assert err["code"] == 100
    other = {
        "accounts": [{"id": "act_77", "currency": "USD"}],
        "tokens": [{"access_token": "tok-both", "accounts": ["*"], "expires_at": 0}],
    }
    await graph.http.post("/_sandbox/seed", json=other)
    cross = {"name": "a", "adset_id": ids["adset"], "creative": {"creative_id": ids["creative"]}}
    assert error_of(await graph.post("act_77/ads", cross))["code"] == 200  # demo token: no access
    err = error_of(await graph.post("act_77/ads", cross, token="tok-both"))
    assert err["code"] == 100 and "act_77" in err["message"]
    long_name = {"name": "n" * 401, "adset_id": ids["adset"], "creative": {"creative_id": ids["creative"]}}
    assert "at most 400" in error_of(await graph.post(f"{ACT}/ads", long_name))["message"]


async def test_json_body_is_accepted_too(graph: Graph) -> None:
    body = {
        "access_token": fx.SYSTEM_USER_TOKEN,
        "name": "json",
        "objective": "OUTCOME_LEADS",
        "special_ad_categories": ["NONE"],
        "is_adset_budget_sharing_enabled": False,
    }
    resp = await graph.http.post(f"/v25.0/{ACT}/campaigns", json=body)
    assert resp.status_code == 200, resp.text


async def test_updates_validate_and_read_back(graph: Graph) -> None:
    ids = await graph.tree()
    assert (await graph.post(ids["adset"], {"daily_budget": 3500})).json() == {"success": True}
    assert (await graph.get(ids["adset"], fields="daily_budget")).json()["daily_budget"] == "3500"
    err = error_of(await graph.post(ids["adset"], {"daily_budget": 10}))
    assert err["error_subcode"] == 1885272
    dry = await graph.post(ids["adset"], {"daily_budget": 9000, "execution_options": ["validate_only"]})
    assert dry.json() == {"success": True}
    assert (await graph.get(ids["adset"], fields="daily_budget")).json()["daily_budget"] == "3500"
    assert error_of(await graph.post(ids["campaign"], {"status": "RUNNING"}))["code"] == 100
    assert (await graph.post(ids["ad"], {"name": "renamed"})).json() == {"success": True}
    assert (await graph.get(ids["ad"], fields="name")).json()["name"] == "renamed"
