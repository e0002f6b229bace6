"""Helpers for the Snapchat sandbox tests: a small API client over real HTTP, tiny valid media
files, and builders for a full campaign → ad squad → creative → ad tree."""

from __future__ import annotations

import struct
import zlib
from functools import cache
from typing import Any

import httpx

from sandbox.snapchat import fixtures as fx
from sandbox.snapchat.switches import DEFAULTS

# Every test starts from these settings (switches and limits are reset explicitly, since the control
# API merges them). Rate limits are lifted except in the rate-limit tests.
BASELINE_CONFIG: dict[str, Any] = {
    "review_delay_s": 0.3,
    "video_processing_s": 0.3,
    "list_read_lag_ms": 0,
    "metrics_growth": True,
    "base_latency_ms": 0,
    "jitter_ms": 0,
    "switches": dict(DEFAULTS),
    "rate_limits": {
        "app_per_s": 100_000,
        "token_per_s": 100_000,
        "window_s": 1.0,
        "endpoint_window_s": 5.0,
        "write": 83,
        "media_create": 25,
        "stats": 1666,
    },
}
ACCOUNT = fx.DEMO_AD_ACCOUNT_ID
FUTURE_START = "2030-01-01T00:00:00.000Z"


@cache
def png(width: int = 1080, height: int = 1920) -> bytes:
    """A real (all-black) PNG of the given size; compresses to a few kB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x00" * (width * 3)
    raw = zlib.compress(row * height, 9)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def mp4(size: int = 4096) -> bytes:
    """Bytes that start like an MP4 (ftyp box); enough for the sandbox's format check."""
    head = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    return head + b"\x00" * max(0, size - len(head))


class Snap:
    """Real HTTP calls to the sandbox, with the demo token unless told otherwise."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.token = fx.DEMO_ACCESS_TOKEN

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def get(self, path: str, token: str | None = None, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params or None, headers=self.auth(token))

    async def post(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.auth(token))

    async def put(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        return await self.http.put(path, json=body, headers=self.auth(token))

    async def delete(self, path: str, token: str | None = None) -> httpx.Response:
        return await self.http.delete(path, headers=self.auth(token))

    # ---- control API --------------------------------------------------------------------------
    async def config(self, **values: Any) -> None:
        r = await self.http.post("/_sandbox/config", json=values)
        assert r.status_code == 200, r.text

    async def switches(self, **values: Any) -> None:
        await self.config(switches=values)

    async def seed(self, payload: dict[str, Any]) -> dict[str, Any]:
        r = await self.http.post("/_sandbox/seed", json=payload)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def fault(self, **rule: Any) -> None:
        r = await self.http.post("/_sandbox/faults", json=rule)
        assert r.status_code == 200, r.text

    async def requests_log(self) -> list[dict[str, Any]]:
        return list((await self.http.get("/_sandbox/requests")).json()["requests"])

    async def objects(self, **query: Any) -> list[dict[str, Any]]:
        return list((await self.http.get("/_sandbox/objects", params=query)).json()["objects"])

    # ---- builders -----------------------------------------------------------------------------
    async def create(self, path: str, plural: str, item: dict[str, Any]) -> dict[str, Any]:
        r = await self.post(path, {plural: [item]})
        body = r.json()
        assert r.status_code == 200 and body["request_status"] == "SUCCESS", r.text
        entry = body[plural][0]
        return dict(next(v for k, v in entry.items() if k != "sub_request_status"))

    async def campaign(self, **overrides: Any) -> dict[str, Any]:
        item = {
            "name": "ar-c1 Campaign",
            "ad_account_id": ACCOUNT,
            "status": "ACTIVE",
            "start_time": FUTURE_START,
        }
        item.update(overrides)
        return await self.create(f"/v1/adaccounts/{ACCOUNT}/campaigns", "campaigns", item)

    async def adsquad(self, campaign_id: str, **overrides: Any) -> dict[str, Any]:
        return await self.create(
            f"/v1/campaigns/{campaign_id}/adsquads", "adsquads", squad_item(campaign_id, **overrides)
        )

    async def image(self, name: str = "ar-img") -> dict[str, Any]:
        media = await self.create(f"/v1/adaccounts/{ACCOUNT}/media", "media", {"name": name, "type": "IMAGE"})
        r = await self.http.post(
            f"/v1/media/{media['id']}/upload",
            files={"file": ("top.png", png(), "image/png")},
            headers=self.auth(),
        )
        assert r.status_code == 200, r.text
        return dict(r.json()["result"])

    async def creative(self, media_id: str, **overrides: Any) -> dict[str, Any]:
        item = {
            "ad_account_id": ACCOUNT,
            "name": "ar-cr Creative",
            "type": "SNAP_AD",
            "headline": "Fresh deals",
            "brand_name": "adrelay",
            "top_snap_media_id": media_id,
        }
        item.update(overrides)
        return await self.create(f"/v1/adaccounts/{ACCOUNT}/creatives", "creatives", item)

    async def ad(self, squad_id: str, creative_id: str, **overrides: Any) -> dict[str, Any]:
        item = {
            "ad_squad_id": squad_id,
            "creative_id": creative_id,
            "name": "ar-ad Ad",
            "type": "SNAP_AD",
            "status": "ACTIVE",
        }
        item.update(overrides)
        return await self.create(f"/v1/adsquads/{squad_id}/ads", "ads", item)

    async def tree(self, start_time: str | None = None, status: str = "ACTIVE") -> dict[str, dict[str, Any]]:
        """An ACTIVE campaign, ad squad and SNAP_AD ad (ad under review) in the demo account."""
        start = start_time or "2020-01-01T00:00:00.000Z"
        campaign = await self.campaign(start_time=start)
        squad = await self.adsquad(campaign["id"], status=status, start_time=start)
        media = await self.image()
        creative = await self.creative(media["id"])
        ad = await self.ad(squad["id"], creative["id"], status=status)
        return {"campaign": campaign, "adsquad": squad, "media": media, "creative": creative, "ad": ad}


def squad_item(parent: str, /, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "campaign_id": parent,
        "name": "ar-s1 Squad",
        "type": "SNAP_ADS",
        "status": "PAUSED",
        "billing_event": "IMPRESSION",
        "bid_strategy": "AUTO_BID",
        "optimization_goal": "IMPRESSIONS",
        "daily_budget_micro": 20_000_000,
        "targeting": {"geos": [{"country_code": "us"}]},
        "placement_v2": {"config": "AUTOMATIC"},
        "start_time": FUTURE_START,
    }
    item.update(overrides)
    return item


def entity(body: dict[str, Any], plural: str, index: int = 0) -> dict[str, Any]:
    entry = body[plural][index]
    return dict(next(v for k, v in entry.items() if k != "sub_request_status"))


def item_error(body: dict[str, Any], plural: str, index: int = 0) -> str:
    """The sub_request_error_reason of item `index` (asserting the item failed)."""
    assert body["request_status"] == "ERROR", body
    entry = body[plural][index]
    assert entry["sub_request_status"] == "ERROR", entry
    return str(entry["sub_request_error_reason"])
