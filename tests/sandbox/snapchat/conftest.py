"""The Snapchat sandbox runs in-process on an ephemeral port for the whole session; every test gets
it reset, configured to the baseline and seeded with the demo seed, and talks to it over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.snapchat import SnapchatSandbox
from sandbox.snapchat import fixtures as fx

from .support import BASELINE_CONFIG, Snap


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def snap_server() -> AsyncIterator[str]:
    sandbox = SnapchatSandbox(SandboxConfig())
    runner = web.AppRunner(sandbox.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def snap_http(snap_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=snap_server, timeout=10) as http:
        yield http


@pytest_asyncio.fixture(loop_scope="session")
async def snap(snap_server: str, snap_http: httpx.AsyncClient) -> Snap:
    client = Snap(snap_http, snap_server)
    assert (await snap_http.post("/_sandbox/reset")).status_code == 200
    await client.config(**BASELINE_CONFIG)
    await client.seed(fx.demo_seed())
    return client
