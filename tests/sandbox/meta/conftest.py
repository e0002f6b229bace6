"""The Meta sandbox in-process on an ephemeral port, spoken to over real HTTP with httpx.

One server per session; every test starts from `POST /_sandbox/reset` + the demo seed, with short
review / processing delays so asynchronous states settle within a second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.meta import MetaSandbox
from sandbox.meta import fixtures as fx

VERSION = "v25.0"
BASE_CONFIG: dict[str, Any] = {
    "review_delay_s": 0.3,
    "video_processing_s": 0.3,
    "webhook_retry_s": 0.05,
    "webhook_duplicate_deliveries": 0,
    "list_read_lag_ms": 0,
    "rate_limits": {"calls_per_window": 5000, "window_s": 3600, "error": "80004"},
    "switches": {"report_run_s": 0.3, "impressions_per_second": 50.0},
}
# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
    "00000105010d0a2db40000000049454e44ae426082"
)


class Graph:
    """A thin Graph client: form-encoded writes with nested values as JSON strings, like the SDKs."""

    def __init__(self, http: httpx.AsyncClient, token: str = fx.SYSTEM_USER_TOKEN) -> None:
        self.http = http
        self.token = token

    def url(self, path: str) -> str:
        return f"/{VERSION}/{path.lstrip('/')}"

    @staticmethod
    def form(data: dict[str, Any]) -> dict[str, str]:
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items() if v is not None}

    async def get(self, path: str, token: str | None = None, **params: Any) -> httpx.Response:
        params.setdefault("access_token", token or self.token)
        return await self.http.get(self.url(path), params=self.form(params))

    async def post(
        self, path: str, data: dict[str, Any] | None = None, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        body = dict(data or {})
        body.setdefault("access_token", token or self.token)
        return await self.http.post(self.url(path), data=self.form(body), **kw)

    async def delete(self, path: str, **params: Any) -> httpx.Response:
        params.setdefault("access_token", self.token)
        return await self.http.delete(self.url(path), params=self.form(params))

    # ---- building blocks ------------------------------------------------------------------
    async def campaign(self, **over: Any) -> str:
        data = {
            "name": "ar-c1 spring",
            "objective": "OUTCOME_TRAFFIC",
            "status": "PAUSED",
            "special_ad_categories": [],
            "is_adset_budget_sharing_enabled": False,
        }
        data.update(over)
        resp = await self.post(f"{fx.AD_ACCOUNT_ID}/campaigns", data)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["id"])

    def adset_data(self, campaign_id: str, **over: Any) -> dict[str, Any]:
        data = {
            "name": "ar-s1 us",
            "campaign_id": campaign_id,
            "daily_budget": 2000,
            "billing_event": "IMPRESSIONS",
            "optimization_goal": "LINK_CLICKS",
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
            "targeting": {"geo_locations": {"countries": ["US"]}},
            "status": "ACTIVE",
        }
        data.update(over)
        return data

    async def adset(self, campaign_id: str, **over: Any) -> str:
        resp = await self.post(f"{fx.AD_ACCOUNT_ID}/adsets", self.adset_data(campaign_id, **over))
        assert resp.status_code == 200, resp.text
        return str(resp.json()["id"])

    async def image(self, data: bytes = PNG, name: str = "hero.png") -> str:
        resp = await self.post(f"{fx.AD_ACCOUNT_ID}/adimages", files={name: (name, data, "image/png")})
        assert resp.status_code == 200, resp.text
        return str(resp.json()["images"][name]["hash"])

    async def creative(self, image_hash: str, **over: Any) -> str:
        data = {
            "name": "ar-k1 creative",
            "object_story_spec": {
                "page_id": fx.PAGE_ID,
                "link_data": {
                    "link": "https://example.com/",
                    "message": "Primary text",
                    "name": "Headline",
                    "image_hash": image_hash,
                    "call_to_action": {"type": "LEARN_MORE", "value": {"link": "https://example.com/"}},
                },
            },
        }
        data.update(over)
        resp = await self.post(f"{fx.AD_ACCOUNT_ID}/adcreatives", data)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["id"])

    async def ad(self, adset_id: str, creative_id: str, **over: Any) -> str:
        data = {"name": "ar-a1 ad", "adset_id": adset_id, "creative": {"creative_id": creative_id}}
        data["status"] = "ACTIVE"
        data.update(over)
        resp = await self.post(f"{fx.AD_ACCOUNT_ID}/ads", data)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["id"])

    async def tree(self) -> dict[str, str]:
        campaign = await self.campaign(status="ACTIVE")
        adset = await self.adset(campaign)
        image_hash = await self.image()
        creative = await self.creative(image_hash)
        ad = await self.ad(adset, creative)
        return {"campaign": campaign, "adset": adset, "creative": creative, "ad": ad, "hash": image_hash}

    # ---- control API ----------------------------------------------------------------------
    async def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        params = {"kind": kind} if kind else {}
        resp = await self.http.get("/_sandbox/objects", params=params)
        return list(resp.json()["objects"])

    async def config(self, **values: Any) -> None:
        resp = await self.http.post("/_sandbox/config", json=values)
        assert resp.status_code == 200, resp.text

    async def fault(self, **rule: Any) -> None:
        resp = await self.http.post("/_sandbox/faults", json=rule)
        assert resp.status_code == 200, resp.text


def error_of(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert "error" in body, body
    return dict(body["error"])


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def meta_server() -> AsyncIterator[tuple[str, MetaSandbox]]:
    config = SandboxConfig()
    config.update(json.loads(json.dumps(BASE_CONFIG)))
    sandbox = MetaSandbox(config)
    runner = web.AppRunner(sandbox.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", sandbox
    await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def graph(meta_server: tuple[str, MetaSandbox]) -> AsyncIterator[Graph]:
    base, sandbox = meta_server
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        assert (await http.post("/_sandbox/reset")).status_code == 200
        sandbox.config.update(json.loads(json.dumps(BASE_CONFIG)))
        sandbox.config.switches.clear()
        sandbox.config.switches.update(BASE_CONFIG["switches"])
        sandbox.config.rate_limits.clear()
        sandbox.config.rate_limits.update(BASE_CONFIG["rate_limits"])
        resp = await http.post("/_sandbox/seed", json=fx.demo_seed())
        assert resp.status_code == 200, resp.text
        yield Graph(http)
        await asyncio.sleep(0)
