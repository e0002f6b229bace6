"""Running the sandbox: its own process, the state file across a restart, list read lag, the file
lookup-by-tag path, and the demo seed."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import httpx
from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.tiktok import TikTokSandbox
from sandbox.tiktok.fixtures import ACCESS_TOKEN, ADVERTISER_ID, demo_seed, mp4_bytes
from tests.sandbox.tiktok.tiktok_support import API, Receiver, TikTokClient, md5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_runs_as_its_own_process() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.tiktok",
        "--port",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    resp = await http.get("/_sandbox/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            assert resp.json() == {"platform": "tiktok", "ok": True}
            res = await http.get(f"{API}/campaign/get/", params={"advertiser_id": ADVERTISER_ID})
            assert res.json()["code"] == 40104
    finally:
        proc.terminate()
        await proc.wait()


async def _serve(sandbox: TikTokSandbox) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(sandbox.app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "tiktok.json"
    runner, url = await _serve(TikTokSandbox(SandboxConfig(state_file=str(state))))
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            tt = TikTokClient(http)
            await tt.control("POST", "seed", demo_seed())
            campaign = await tt.campaign(campaign_name="ar-persist")
            video = await tt.video(name="ar-persist.mp4")
    finally:
        await runner.cleanup()
    runner, url = await _serve(TikTokSandbox(SandboxConfig(state_file=str(state))))
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            tt = TikTokClient(http)
            res = await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID})
            assert [r["campaign_id"] for r in res["data"]["list"]] == [campaign["campaign_id"]]
            info = await tt.get(
                "/file/video/ad/info/", {"advertiser_id": ADVERTISER_ID, "video_ids": [video["video_id"]]}
            )
            assert info["data"]["list"][0]["file_name"] == "ar-persist.mp4"
            again = await tt.campaign(campaign_name="ar-after")
            assert int(again["campaign_id"]) > int(campaign["campaign_id"])
    finally:
        await runner.cleanup()


async def test_lists_trail_writes_by_the_configured_read_lag(tt: TikTokClient) -> None:
    await tt.config(list_read_lag_ms=300)
    c = await tt.campaign()
    assert (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}))["data"]["list"] == []
    await asyncio.sleep(0.32)
    rows = (await tt.get("/campaign/get/", {"advertiser_id": ADVERTISER_ID}))["data"]["list"]
    assert [r["campaign_id"] for r in rows] == [c["campaign_id"]]


async def test_file_lookup_by_tag_path(tt: TikTokClient, receiver: Receiver) -> None:
    """lookup-by-tag §2.3: deterministic file_name → /file/name/check/ → material_id → search → video_id."""
    data = mp4_bytes(720, 1280, 9.0)
    receiver.files["clip.mp4"] = data
    res = await tt.upload(
        "/file/video/ad/upload/",
        {
            "advertiser_id": ADVERTISER_ID,
            "upload_type": "UPLOAD_BY_URL",
            "video_url": f"{receiver.url}/files/clip.mp4",
            "file_name": "ar-0a1b2c.mp4",
        },
    )
    assert res["code"] == 0 and res["data"][0]["signature"] == md5(data)
    video_id = res["data"][0]["video_id"]
    check = await tt.get(
        "/file/name/check/",
        {"advertiser_id": ADVERTISER_ID, "file_name": "ar-0a1b2c.mp4", "file_type": "VIDEO"},
    )
    material_id = check["data"]["duplicate_material_id"]
    found = await tt.get(
        "/file/video/ad/search/",
        {"advertiser_id": ADVERTISER_ID, "filtering": {"material_ids": [material_id]}},
    )
    assert [v["video_id"] for v in found["data"]["list"]] == [video_id]
    # Retrying the upload with the same name does not create a second video.
    res = await tt.upload(
        "/file/video/ad/upload/",
        {
            "advertiser_id": ADVERTISER_ID,
            "upload_type": "UPLOAD_BY_URL",
            "video_url": f"{receiver.url}/files/clip.mp4",
            "file_name": "ar-0a1b2c.mp4",
        },
    )
    assert res["code"] == 40911 and len(await tt.objects("video")) == 1


async def test_demo_seed_supports_a_whole_publish(tt: TikTokClient) -> None:
    _c, g = await tt.tree()
    ad = await tt.ad(g["adgroup_id"])
    assert ad["ad_ids"]
    kinds = sorted(r["kind"] for r in await tt.objects())
    assert kinds == ["ad", "adgroup", "campaign", "image", "video"]
    headers = {"Access-Token": ACCESS_TOKEN}
    assert (
        await tt.http.get(f"{API}/identity/get/", params={"advertiser_id": ADVERTISER_ID}, headers=headers)
    ).json()["code"] == 0


async def test_config_lists_every_switch_with_its_default() -> None:
    from sandbox.tiktok import settings

    config = TikTokSandbox(SandboxConfig(switches={"duplicate_names": "reject"})).config.to_json()
    assert set(settings.SWITCHES) <= set(config["switches"])
    assert config["switches"]["duplicate_names"] == "reject"
    assert config["switches"]["request_id_window_s"] == 10.0
    assert config["rate_limits"]["ad_create_qps"] == 5
