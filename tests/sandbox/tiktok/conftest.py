"""Fixtures for the TikTok sandbox tests: one in-process sandbox on an ephemeral port for the session,
reset and re-seeded (demo seed) with default configuration before every test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.tiktok import TikTokSandbox
from sandbox.tiktok.fixtures import demo_seed
from tests.sandbox.tiktok.tiktok_support import BASE_CONFIG, Receiver, TikTokClient


@pytest.fixture(scope="session")
async def sandbox_url() -> AsyncIterator[str]:
    sandbox = TikTokSandbox(SandboxConfig())
    runner = web.AppRunner(sandbox.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture(scope="session")
async def http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as client:
        yield client


@pytest.fixture
async def tt(http: httpx.AsyncClient) -> TikTokClient:
    client = TikTokClient(http)
    await client.control("POST", "reset")
    await client.control("POST", "config", BASE_CONFIG)
    await client.control("POST", "seed", demo_seed())
    return client


@pytest.fixture(scope="session")
async def receiver_app() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.add_routes([web.post("/hook", receiver.hook), web.get("/files/{name}", receiver.file)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}"
    yield receiver
    await runner.cleanup()


@pytest.fixture
def receiver(receiver_app: Receiver) -> Receiver:
    receiver_app.deliveries.clear()
    receiver_app.files.clear()
    return receiver_app
