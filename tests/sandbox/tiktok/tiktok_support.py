"""Helpers for the TikTok sandbox tests: a client speaking the platform's transport (Access-Token header,
JSON-encoded list params in GET queries), request bodies that the real API accepts, and a local receiver
for webhook deliveries and UPLOAD_BY_URL files.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
from aiohttp import web

from sandbox.tiktok import settings
from sandbox.tiktok.fixtures import ACCESS_TOKEN, ADVERTISER_ID, IDENTITY_ID, mp4_bytes, png_bytes

API = "/open_api/v1.3"
BASE_CONFIG: dict[str, Any] = {
    "review_delay_s": 0.3,
    "video_processing_s": 0.0,
    "webhook_retry_s": 0.05,
    "webhook_duplicate_deliveries": 0,
    "list_read_lag_ms": 0,
    "base_latency_ms": 0,
    "jitter_ms": 0,
    "metrics_growth": True,
    "switches": dict(settings.SWITCHES),
    "rate_limits": {
        **settings.RATE_LIMITS,
        "default_qps": 1000,
        "default_qpm": 100000,
        "ad_create_qps": 1000,
    },
}


class TikTokClient:
    """Talks to the sandbox the way a production client talks to business-api.tiktok.com."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token: str | None = ACCESS_TOKEN

    def _headers(self, token: str | None) -> dict[str, str]:
        value = self.token if token == "default" else token
        return {"Access-Token": value} if value else {}

    async def get(
        self, path: str, params: dict[str, Any] | None = None, token: str | None = "default"
    ) -> dict:
        query = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in (params or {}).items()}
        resp = await self.http.get(f"{API}{path}", params=query, headers=self._headers(token))
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def post(
        self, path: str, body: dict[str, Any] | None = None, token: str | None = "default"
    ) -> dict:
        resp = await self.http.post(f"{API}{path}", json=body or {}, headers=self._headers(token))
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def upload(self, path: str, data: dict[str, Any], files: dict[str, Any] | None = None) -> dict:
        resp = await self.http.post(f"{API}{path}", data=data, files=files, headers=self._headers("default"))
        assert resp.status_code == 200, resp.text
        return resp.json()

    # ---- control API ---------------------------------------------------------------------
    async def control(self, method: str, path: str, body: Any = None) -> Any:
        resp = await self.http.request(method, f"/_sandbox/{path}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def config(self, **changes: Any) -> None:
        await self.control("POST", "config", changes)

    async def switches(self, **changes: Any) -> None:
        await self.control("POST", "config", {"switches": changes})

    async def fault(self, rule: dict[str, Any]) -> None:
        await self.control("POST", "faults", rule)

    async def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        path = f"objects?kind={kind}" if kind else "objects"
        return (await self.control("GET", path))["objects"]

    # ---- building blocks for tests -------------------------------------------------------
    async def campaign(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "advertiser_id": ADVERTISER_ID,
            "campaign_name": "ar-camp",
            "objective_type": "TRAFFIC",
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": 100.0,
            "operation_status": "ENABLE",
            **overrides,
        }
        res = await self.post("/campaign/create/", body)
        assert res["code"] == 0, res
        return res["data"]

    async def adgroup(self, campaign_id: str, **overrides: Any) -> dict[str, Any]:
        res = await self.post("/adgroup/create/", adgroup_body(campaign_id, **overrides))
        assert res["code"] == 0, res
        return res["data"]

    async def image(
        self, width: int = 720, height: int = 1280, name: str | None = None, shade: int = 1
    ) -> dict:
        data = png_bytes(width, height, shade)
        form = {"advertiser_id": ADVERTISER_ID, "upload_type": "UPLOAD_BY_FILE", "image_signature": md5(data)}
        if name:
            form["file_name"] = name
        res = await self.upload(
            "/file/image/ad/upload/", form, {"image_file": ("cover.png", data, "image/png")}
        )
        assert res["code"] == 0, res
        return res["data"]

    async def video(
        self, width: int = 720, height: int = 1280, name: str | None = None, salt: bytes = b""
    ) -> dict:
        data = mp4_bytes(width, height, 12.0, salt)
        form = {"advertiser_id": ADVERTISER_ID, "video_signature": md5(data)}
        if name:
            form["file_name"] = name
        res = await self.upload(
            "/file/video/ad/upload/", form, {"video_file": ("clip.mp4", data, "video/mp4")}
        )
        assert res["code"] == 0, res
        return res["data"][0]

    async def tree(self, **campaign_overrides: Any) -> tuple[dict, dict]:
        campaign = await self.campaign(**campaign_overrides)
        return campaign, await self.adgroup(campaign["campaign_id"])

    async def ad(self, adgroup_id: str, **creative_overrides: Any) -> dict[str, Any]:
        video = await self.video(salt=creative_overrides.pop("salt", b""))
        cover = await self.image()
        creative = creative_body(video["video_id"], cover["image_id"], **creative_overrides)
        res = await self.post(
            "/ad/create/", {"advertiser_id": ADVERTISER_ID, "adgroup_id": adgroup_id, "creatives": [creative]}
        )
        assert res["code"] == 0, res
        return res["data"]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def adgroup_body(campaign_id: str, /, **overrides: Any) -> dict[str, Any]:
    body = {
        "advertiser_id": ADVERTISER_ID,
        "campaign_id": campaign_id,
        "adgroup_name": "ar-adgroup",
        "promotion_type": "WEBSITE",
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
        "location_ids": ["6252001"],
        "age_groups": ["AGE_18_24", "AGE_25_34"],
        "gender": "GENDER_UNLIMITED",
        "languages": ["en"],
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 50.0,
        "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": "2026-01-01 00:00:00",
        "optimization_goal": "CLICK",
        "billing_event": "CPC",
        "bid_type": "BID_TYPE_NO_BID",
        "pacing": "PACING_MODE_SMOOTH",
        "operation_status": "ENABLE",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def creative_body(video_id: str | None, image_id: str, /, **overrides: Any) -> dict[str, Any]:
    body = {
        "ad_name": "ar-ad",
        "ad_format": "SINGLE_VIDEO",
        "ad_text": "Run further with adrelay",
        "video_id": video_id,
        "image_ids": [image_id],
        "call_to_action": "LEARN_MORE",
        "landing_page_url": "https://example.com/landing",
        "identity_type": "CUSTOMIZED_USER",
        "identity_id": IDENTITY_ID,
        "display_name": "adrelay",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


class Receiver:
    """A local HTTP endpoint: records webhook deliveries and serves files for UPLOAD_BY_URL."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.files: dict[str, bytes] = {}
        self.event = asyncio.Event()
        self.url = ""

    async def hook(self, request: web.Request) -> web.Response:
        self.deliveries.append((dict(request.headers), await request.read()))
        self.event.set()
        return web.Response(text="ok")

    async def file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "slow.png":
            await asyncio.sleep(1.5)
        if name not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[name])

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def loop() -> None:
            while len(self.deliveries) < count:
                self.event.clear()
                await self.event.wait()

        await asyncio.wait_for(loop(), timeout)
