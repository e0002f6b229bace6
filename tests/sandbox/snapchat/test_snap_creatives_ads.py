"""Creatives (type ↔ CTA rules, READY media, public profiles) and ads (type ↔ creative mapping,
asynchronous review found by polling)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox.snapchat import fixtures as fx

from .support import ACCOUNT, Snap, entity, item_error

CREATIVES = f"/v1/adaccounts/{ACCOUNT}/creatives"


async def post_creative(snap: Snap, **item: Any) -> dict[str, Any]:
    r = await snap.post(CREATIVES, {"creatives": [item]})
    assert r.status_code == 200
    return dict(r.json())


def snap_ad(media_id: str, **overrides: Any) -> dict[str, Any]:
    item = {
        "ad_account_id": ACCOUNT,
        "name": "ar-cr",
        "type": "SNAP_AD",
        "headline": "Fresh deals",
        "brand_name": "adrelay",
        "top_snap_media_id": media_id,
    }
    item.update(overrides)
    return {k: v for k, v in item.items() if v is not None}


async def test_creative_answers_with_the_recorded_shape(snap: Snap) -> None:
    media = await snap.image()
    creative = entity(await post_creative(snap, **snap_ad(media["id"])), "creatives")
    assert creative["review_status"] == "PENDING_REVIEW"
    assert creative["packaging_status"] == "SUCCESS"
    assert creative["render_type"] == "STATIC"
    assert creative["ad_product"] == "SNAP_AD"
    assert creative["shareable"] is True
    assert creative["top_snap_crop_position"] == "MIDDLE"
    assert isinstance(creative["semantic_id"], str) and int(creative["semantic_id"])
    read = entity((await snap.get(f"/v1/creatives/{creative['id']}")).json(), "creatives")
    assert read["id"] == creative["id"]


async def test_profile_replaces_brand_name(snap: Snap) -> None:
    media = await snap.image()
    body = await post_creative(
        snap, **snap_ad(media["id"], brand_name=None, profile_properties={"profile_id": fx.DEMO_PROFILE_ID})
    )
    assert entity(body, "creatives")["profile_properties"] == {"profile_id": fx.DEMO_PROFILE_ID}


async def test_web_view_creative(snap: Snap) -> None:
    media = await snap.image()
    body = await post_creative(
        snap,
        **snap_ad(
            media["id"],
            type="WEB_VIEW",
            call_to_action="SHOP_NOW",
            web_view_properties={"url": "https://shop.example/spring"},
        ),
    )
    creative = entity(body, "creatives")
    assert creative["call_to_action"] == "SHOP_NOW"
    assert creative["web_view_properties"] == {
        "url": "https://shop.example/spring",
        "allow_snap_javascript_sdk": False,
        "use_immersive_mode": False,
        "deep_link_urls": [],
        "block_preload": True,
    }


WEB = {
    "type": "WEB_VIEW",
    "call_to_action": "SHOP_NOW",
    "web_view_properties": {"url": "https://shop.example"},
}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"ad_account_id": None}, "ad_account_id is required"),
        ({"name": None}, "name is required"),
        ({"type": "BANNER"}, "Invalid type"),
        ({"headline": None}, "headline is required"),
        ({"headline": "x" * 35}, "at most 34"),
        ({"brand_name": "y" * 33}, "at most 32"),
        ({"brand_name": None}, "brand_name is required"),
        ({"profile_properties": {"profile_id": "00000000-0000-4000-8000-000000000000"}}, "E3004"),
        ({"top_snap_media_id": None}, "top_snap_media_id is required"),
        ({"top_snap_media_id": "00000000-0000-4000-8000-000000000000"}, "E3004"),
        ({"call_to_action": "SHOP_NOW"}, "SNAP_AD creatives take no call_to_action"),
        ({"web_view_properties": {"url": "https://x.example"}}, "SNAP_AD creatives take no"),
        ({**WEB, "web_view_properties": None}, "web_view_properties.url is required"),
        (
            {**WEB, "web_view_properties": {"url": "shop.example/no-scheme"}},
            "web_view_properties.url is required",
        ),
        ({**WEB, "call_to_action": None}, "call_to_action is required for WEB_VIEW"),
        ({**WEB, "call_to_action": "VIEW_MORE"}, "not allowed for WEB_VIEW"),
        ({"type": "APP_INSTALL"}, "app_install_properties"),
        ({"top_snap_crop_position": "LEFT"}, "Invalid top_snap_crop_position"),
        ({"shareable": "yes"}, "shareable must be true or false"),
    ],
)
async def test_invalid_creatives_are_refused(snap: Snap, overrides: dict[str, Any], fragment: str) -> None:
    media = await snap.image()
    item = snap_ad(media["id"])
    item.update(overrides)
    body = await post_creative(snap, **{k: v for k, v in item.items() if v is not None})
    assert fragment in item_error(body, "creatives")


async def test_creative_needs_ready_media(snap: Snap) -> None:
    pending = await snap.create(
        f"/v1/adaccounts/{ACCOUNT}/media", "media", {"name": "not yet", "type": "IMAGE"}
    )
    body = await post_creative(snap, **snap_ad(pending["id"]))
    assert "hasn't been uploaded yet" in item_error(body, "creatives")


async def test_creative_put_and_no_delete(snap: Snap) -> None:
    media = await snap.image()
    creative = await snap.creative(media["id"])
    r = await snap.put(CREATIVES, {"creatives": [dict(creative, name="renamed")]})
    updated = entity(r.json(), "creatives")
    assert updated["name"] == "renamed"
    assert updated["semantic_id"] != creative["semantic_id"]  # recorded: a new semantic_id per update
    changed_type = dict(creative, type="WEB_VIEW", **{k: v for k, v in WEB.items() if k != "type"})
    assert "E2023" in item_error(
        (await snap.put(CREATIVES, {"creatives": [changed_type]})).json(), "creatives"
    )
    refused = await snap.delete(f"/v1/creatives/{creative['id']}")
    assert refused.status_code == 405
    assert refused.json()["request_status"] == "ERROR"
    await snap.switches(creative_delete_supported=True)
    assert (await snap.delete(f"/v1/creatives/{creative['id']}")).status_code == 200


async def test_ad_is_created_pending_then_approved_by_polling(snap: Snap) -> None:
    tree = await snap.tree()
    ad = tree["ad"]
    assert ad["review_status"] == "PENDING"
    assert ad["review_status_reasons"] == []
    assert ad["render_type"] == "STATIC"
    assert "INVALID_PENDING_REVIEW_STATUS" in ad["delivery_status"]
    squad = entity((await snap.get(f"/v1/adsquads/{tree['adsquad']['id']}")).json(), "adsquads")
    assert squad["child_ad_type"] == "SNAP_AD"
    final = await poll_review(snap, ad["id"])
    assert final["review_status"] == "APPROVED"
    assert "review_status_reasons" not in final
    assert final["delivery_status"] == ["VALID"]


async def poll_review(snap: Snap, ad_id: str) -> dict[str, Any]:
    for _ in range(50):
        ad = entity((await snap.get(f"/v1/ads/{ad_id}")).json(), "ads")
        if ad["review_status"] != "PENDING":
            return ad
        await asyncio.sleep(0.05)
    raise AssertionError("review never completed")


async def test_disapprove_fault_rejects_the_ads_of_the_matched_create(snap: Snap) -> None:
    campaign = await snap.campaign(start_time="2020-01-01T00:00:00Z")
    squad = await snap.adsquad(campaign["id"], status="ACTIVE", start_time="2020-01-01T00:00:00Z")
    media = await snap.image()
    creative = await snap.creative(media["id"])
    await snap.fault(
        effect="disapprove",
        method="POST",
        path=r"/v1/adsquads/[^/]+/ads$",
        body={"field": "ads.0.name", "equals": "ar-bad"},
        params={"reasons": ["Misleading claims"]},
    )
    good = await snap.ad(squad["id"], creative["id"], name="ar-good")
    bad = await snap.ad(squad["id"], creative["id"], name="ar-bad")
    assert bad["review_status"] == "PENDING"  # the rejection arrives later, as on the platform
    rejected = await poll_review(snap, bad["id"])
    assert rejected["review_status"] == "REJECTED"
    assert rejected["review_status_reasons"] == ["Misleading claims"]
    assert "INVALID_REJECTED_REVIEW_STATUS" in rejected["delivery_status"]
    assert (await poll_review(snap, good["id"]))["review_status"] == "APPROVED"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"type": "REMOTE_WEBPAGE"}, "not compatible with creative type SNAP_AD"),
        ({"type": "BANNER"}, "Invalid type"),
        ({"creative_id": "00000000-0000-4000-8000-000000000000"}, "E3004"),
        ({"creative_id": None}, "creative_id is required"),
        ({"name": None}, "name is required"),
        ({"status": None}, "status is required"),
        ({"ad_squad_id": None}, "ad_squad_id is required"),
    ],
)
async def test_invalid_ads_are_refused(snap: Snap, overrides: dict[str, Any], fragment: str) -> None:
    campaign = await snap.campaign()
    squad = await snap.adsquad(campaign["id"])
    media = await snap.image()
    creative = await snap.creative(media["id"])
    item = {
        "ad_squad_id": squad["id"],
        "creative_id": creative["id"],
        "name": "ar-ad",
        "type": "SNAP_AD",
        "status": "PAUSED",
        **overrides,
    }
    r = await snap.post(
        f"/v1/adsquads/{squad['id']}/ads", {"ads": [{k: v for k, v in item.items() if v is not None}]}
    )
    assert fragment in item_error(r.json(), "ads")


async def test_web_view_creative_needs_remote_webpage_ads_and_child_type_is_fixed(snap: Snap) -> None:
    campaign = await snap.campaign()
    squad = await snap.adsquad(campaign["id"])
    media = await snap.image()
    web = entity(await post_creative(snap, **snap_ad(media["id"], **WEB)), "creatives")
    plain = await snap.creative(media["id"])
    ad = await snap.ad(squad["id"], web["id"], type="REMOTE_WEBPAGE")
    assert ad["type"] == "REMOTE_WEBPAGE"
    r = await snap.post(
        f"/v1/adsquads/{squad['id']}/ads",
        {
            "ads": [
                {
                    "ad_squad_id": squad["id"],
                    "creative_id": plain["id"],
                    "name": "x",
                    "type": "SNAP_AD",
                    "status": "PAUSED",
                }
            ]
        },
    )
    assert "child_ad_type REMOTE_WEBPAGE" in item_error(r.json(), "ads")


async def test_ad_put_list_and_delete(snap: Snap) -> None:
    tree = await snap.tree()
    ad, squad = tree["ad"], tree["adsquad"]
    r = await snap.put(f"/v1/adsquads/{squad['id']}/ads", {"ads": [dict(ad, name="Updated Ad Name")]})
    updated = entity(r.json(), "ads")
    assert updated["name"] == "Updated Ad Name"
    assert "review_status_reasons" not in updated  # recorded: the PUT answer has none
    assert len((await snap.get(f"/v1/adsquads/{squad['id']}/ads")).json()["ads"]) == 1
    assert len((await snap.get(f"/v1/adaccounts/{ACCOUNT}/ads")).json()["ads"]) == 1
    deleted = await snap.delete(f"/v1/ads/{ad['id']}")
    assert deleted.json()["ads"] == []
    assert (await snap.get(f"/v1/adaccounts/{ACCOUNT}/ads")).json()["ads"] == []
    shown = (await snap.get(f"/v1/adsquads/{squad['id']}/ads", read_deleted_entities="true")).json()["ads"]
    assert shown[0]["ad"]["deleted"] is True
