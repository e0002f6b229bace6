"""The sandbox as a process (`python -m sandbox.snapchat`) and its state file across a restart."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import httpx
from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.snapchat import SnapchatSandbox
from sandbox.snapchat import fixtures as fx

REPO = Path(__file__).resolve().parents[3]
AUTH = {"Authorization": f"Bearer {fx.DEMO_ACCESS_TOKEN}"}


async def _serve(state_file: Path) -> tuple[web.AppRunner, str]:
    sandbox = SnapchatSandbox(SandboxConfig(state_file=str(state_file)))
    runner = web.AppRunner(sandbox.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "snapchat.json"
    runner, base = await _serve(state)
    async with httpx.AsyncClient(base_url=base) as http:
        await http.post("/_sandbox/seed", json=fx.demo_seed())
        created = await http.post(
            f"/v1/adaccounts/{fx.DEMO_AD_ACCOUNT_ID}/campaigns",
            json={
                "campaigns": [
                    {"name": "ar-persist", "status": "PAUSED", "start_time": "2030-01-01T00:00:00Z"}
                ]
            },
            headers=AUTH,
        )
        campaign_id = created.json()["campaigns"][0]["campaign"]["id"]
        rotated = await http.post(
            "/login/oauth2/access_token",
            data={
                "grant_type": "refresh_token",
                "client_id": fx.DEMO_CLIENT_ID,
                "client_secret": fx.DEMO_CLIENT_SECRET,
                "refresh_token": fx.DEMO_REFRESH_TOKEN,
            },
        )
    await runner.cleanup()
    assert state.exists()

    runner, base = await _serve(state)
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            read = await http.get(f"/v1/campaigns/{campaign_id}", headers=AUTH)
            assert read.status_code == 200
            assert read.json()["campaigns"][0]["campaign"]["name"] == "ar-persist"
            reused = await http.post(
                "/login/oauth2/access_token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": fx.DEMO_CLIENT_ID,
                    "client_secret": fx.DEMO_CLIENT_SECRET,
                    "refresh_token": fx.DEMO_REFRESH_TOKEN,
                },
            )
            assert reused.status_code == 400  # rotation survived the restart
            again = await http.post(
                "/login/oauth2/access_token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": fx.DEMO_CLIENT_ID,
                    "client_secret": fx.DEMO_CLIENT_SECRET,
                    "refresh_token": rotated.json()["refresh_token"],
                },
            )
            assert again.status_code == 200
    finally:
        await runner.cleanup()


async def test_runs_as_its_own_process() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.snapchat",
        "--port",
        str(port),
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    health: httpx.Response | None = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    health = await http.get("/_sandbox/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            assert health is not None and health.json() == {"platform": "snapchat", "ok": True}
            assert (await http.get("/v1/me")).status_code == 401
    finally:
        proc.terminate()
        await proc.wait()
