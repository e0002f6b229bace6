"""Helpers for the connections tests: the three platform sandboxes in-process on ephemeral ports,
settings and environment pointing at them, and readers for the stored rows and outbox events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from aiohttp import web

from adrelay.platforms.settings import MetaSettings, PlatformSettings, SnapchatSettings, TikTokSettings
from sandbox.common.cli import build
from sandbox.common.server import PlatformSandbox
from sandbox.meta import fixtures as meta_fx
from sandbox.snapchat import fixtures as snap_fx
from sandbox.tiktok import fixtures as tiktok_fx

PLATFORMS = ("meta", "tiktok", "snapchat")


@dataclass
class Sandboxes:
    apps: dict[str, PlatformSandbox]
    urls: dict[str, str]
    runners: list[web.AppRunner] = field(default_factory=list)

    @property
    def settings(self) -> PlatformSettings:
        return PlatformSettings(
            meta=MetaSettings(
                graph_url=self.urls["meta"], app_id=meta_fx.APP_ID, app_secret=meta_fx.APP_SECRET
            ),
            tiktok=TikTokSettings(
                api_url=self.urls["tiktok"], app_id=tiktok_fx.APP_ID, app_secret=tiktok_fx.APP_SECRET
            ),
            snapchat=SnapchatSettings(
                api_url=self.urls["snapchat"],
                accounts_url=self.urls["snapchat"],
                client_id=snap_fx.DEMO_CLIENT_ID,
                client_secret=snap_fx.DEMO_CLIENT_SECRET,
                redirect_uri=snap_fx.DEMO_REDIRECT_URI,
            ),
            http_timeout_s=10,
        )

    def env(self) -> dict[str, str]:
        """The same settings as environment variables (for the CLI as a process)."""
        return {
            "ADRELAY_META_GRAPH_URL": self.urls["meta"],
            "ADRELAY_META_APP_ID": meta_fx.APP_ID,
            "ADRELAY_META_APP_SECRET": meta_fx.APP_SECRET,
            "ADRELAY_TIKTOK_API_URL": self.urls["tiktok"],
            "ADRELAY_TIKTOK_APP_ID": tiktok_fx.APP_ID,
            "ADRELAY_TIKTOK_APP_SECRET": tiktok_fx.APP_SECRET,
            "ADRELAY_SNAPCHAT_API_URL": self.urls["snapchat"],
            "ADRELAY_SNAPCHAT_ACCOUNTS_URL": self.urls["snapchat"],
            "ADRELAY_SNAPCHAT_CLIENT_ID": snap_fx.DEMO_CLIENT_ID,
            "ADRELAY_SNAPCHAT_CLIENT_SECRET": snap_fx.DEMO_CLIENT_SECRET,
            "ADRELAY_SNAPCHAT_REDIRECT_URI": snap_fx.DEMO_REDIRECT_URI,
        }

    async def control(self, platform: str, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.urls[platform], timeout=10) as client:
            response = await client.request(method, f"/_sandbox/{path}", json=body)
            response.raise_for_status()
            return response.json()

    async def seed(self, platform: str, payload: dict[str, Any]) -> None:
        await self.control(platform, "POST", "seed", payload)

    async def fault(self, platform: str, rule: dict[str, Any]) -> None:
        await self.control(platform, "POST", "faults", rule)

    async def requests(self, platform: str) -> list[dict[str, Any]]:
        return list((await self.control(platform, "GET", "requests"))["requests"])

    def issued_secrets(self) -> set[str]:
        """Every token, refresh token, code and app secret the sandboxes hold or ever issued."""
        found: set[str] = {
            meta_fx.APP_SECRET,
            meta_fx.SYSTEM_USER_TOKEN,
            meta_fx.SHORT_LIVED_USER_TOKEN,
            tiktok_fx.APP_SECRET,
            tiktok_fx.ACCESS_TOKEN,
            tiktok_fx.AUTH_CODE,
            tiktok_fx.AUTH_CODE_TOKEN,
            snap_fx.DEMO_CLIENT_SECRET,
            snap_fx.DEMO_ACCESS_TOKEN,
            snap_fx.DEMO_REFRESH_TOKEN,
            snap_fx.DEMO_AUTH_CODE,
        }
        meta, tiktok, snap = self.apps["meta"], self.apps["tiktok"], self.apps["snapchat"]
        found.update(meta.auth.tokens)  # type: ignore[attr-defined]
        found.update(tiktok.state.tokens)  # type: ignore[attr-defined]
        found.update(tiktok.state.auth_codes)  # type: ignore[attr-defined]
        found.update(snap.state.tokens)  # type: ignore[attr-defined]
        found.update(snap.state.refresh_tokens)  # type: ignore[attr-defined]
        found.update(snap.state.auth_codes)  # type: ignore[attr-defined]
        return {s for s in found if s and len(s) >= 8}


@contextlib.asynccontextmanager
async def running_sandboxes() -> AsyncIterator[Sandboxes]:
    """Fresh sandboxes, each seeded with its demo seed, stopped on exit."""
    apps: dict[str, PlatformSandbox] = {}
    urls: dict[str, str] = {}
    runners: list[web.AppRunner] = []
    try:
        for platform in PLATFORMS:
            sb = build(platform)
            runner = web.AppRunner(sb.app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            host, port = runner.addresses[0][:2]
            apps[platform] = sb
            urls[platform] = f"http://{host}:{port}"
        boxes = Sandboxes(apps, urls, runners)
        await boxes.seed("meta", meta_fx.demo_seed())
        await boxes.seed("tiktok", tiktok_fx.demo_seed())
        await boxes.seed("snapchat", snap_fx.demo_seed())
        yield boxes
    finally:
        for runner in runners:
            await runner.cleanup()


async def raw_row(db: asyncpg.Pool, connection_id: str) -> bytes:
    """The whole stored row as bytes, as someone with database access but no key would see it."""
    row = await db.fetchrow("select * from platform_connections where id = $1", connection_id)
    assert row is not None
    parts = [
        bytes(v) if isinstance(v, bytes | bytearray | memoryview) else str(v).encode() for v in row.values()
    ]
    return b"\x00".join(parts)


async def reauth_events(db: asyncpg.Pool, connection_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "select value, event_type, message_key from outbox where producer = 'connections' and event_type = "
        "'ReauthRequired' order by id"
    )
    found = []
    for row in rows:
        envelope = json.loads(bytes(row["value"]))
        if envelope["payload"]["connection_id"] == connection_id:
            found.append({"envelope": envelope, "raw": bytes(row["value"]), "key": bytes(row["message_key"])})
    return found
