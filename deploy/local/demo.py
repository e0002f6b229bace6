"""`make demo`: publish sample campaigns to the three sandboxes and show it happen.

After `make up` (Kafka, PostgreSQL, the sandboxes), this starts a media server and the five services
as processes, connects one account per platform the way a person would (through the orchestrator's
HTTP API), then publishes:
  1. a campaign with 2 ad sets x 2 ads, an image and a video, to Meta, TikTok and Snapchat — live
     progress per platform, then the result as a tree with every external id;
  2. a second campaign that fails on TikTok (a fault injected in its sandbox) and is rolled back on
     every platform, with the reason.
The services are stopped at the end; the runtime keeps running (`make down` stops it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "shared"), str(ROOT)]

import httpx  # noqa: E402
import yaml  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.panel import Panel  # noqa: E402

from adrelay.cli.publishing import status_tree, watch_until_done  # noqa: E402
from adrelay.connections import generate_key  # noqa: E402
from sandbox.samples import mp4, png  # noqa: E402
from sandbox.stack import CONNECT, SandboxUrls, reset_and_seed, service_env, targets  # noqa: E402

RUNTIME = Path(os.environ.get("ADRELAY_RUNTIME_DIR", ROOT / ".runtime"))
DEMO = RUNTIME / "demo"
SERVICES = {
    "orchestrator": 6066,
    "meta-publisher": 6067,
    "tiktok-publisher": 6068,
    "snapchat-publisher": 6069,
    "tracker": 6070,
}
MEDIA_PORT = int(os.environ.get("ADRELAY_DEMO_MEDIA_PORT", "18090"))
SANDBOX_CONFIG = {p: {"review_delay_s": 2.0, "video_processing_s": 1.0, "base_latency_ms": 30} for p in
                  ("meta", "tiktok", "snapchat")}  # fmt: skip
console = Console()
DEMO_IDS = {p: f"demo-{p}" for p in ("meta", "tiktok", "snapchat")}


def forget_platform_state() -> None:
    """The demo wipes its sandboxes, so what adrelay remembers of them goes too: uploads cached per
    account and content hash would name images and videos the fresh sandboxes never saw."""
    import asyncio

    import asyncpg

    from adrelay.config import Settings

    async def forget() -> None:
        conn = await asyncpg.connect(Settings().database_url)
        try:
            await conn.execute(
                "delete from media_uploads where account_id = any($1::text[])",
                [
                    t["ad_account_id"] if "ad_account_id" in t else t["advertiser_id"]
                    for t in targets(DEMO_IDS)
                ],
            )
        finally:
            await conn.close()

    asyncio.run(forget())


def token_keys() -> str:
    """The demo's token encryption key, made once and kept with the runtime."""
    if os.environ.get("ADRELAY_TOKEN_KEYS"):
        return os.environ["ADRELAY_TOKEN_KEYS"]
    path = RUNTIME / "token-keys"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


def write_media() -> dict[str, tuple[str, bytes]]:
    media_dir = DEMO / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "spring-coffee.png": png(1080, 1920, (196, 120, 52)),
        "spring-coffee-cover.png": png(1080, 1920, (60, 40, 30)),
        "spring-coffee.mp4": mp4(1080, 1920, 15),
    }
    out = {}
    for name, data in files.items():
        (media_dir / name).write_bytes(data)
        out[name] = (hashlib.sha256(data).hexdigest(), data)
    return out


def serve_media() -> ThreadingHTTPServer:
    handler = partial(SimpleHTTPRequestHandler, directory=str(DEMO))
    handler.log_message = lambda *_args, **_kw: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", MEDIA_PORT), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def campaign(
    template: Path, media: dict[str, tuple[str, bytes]], connection_ids: dict[str, str]
) -> dict[str, Any]:
    """A PublishCampaign command from a sample file: media URLs, hashes and sizes, dates and targets."""
    command = yaml.safe_load(template.read_text())
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=1)
    schedule = command["campaign"]["schedule"]
    schedule["start_time"] = start.isoformat()
    schedule["end_time"] = (start + timedelta(days=int(schedule.pop("days", 30)))).isoformat()
    for asset in command["campaign"]["media"]:
        name = asset.pop("file")
        sha, data = media[name]
        asset.update(url=f"http://127.0.0.1:{MEDIA_PORT}/media/{name}", sha256=sha, size_bytes=len(data))
    suffix = uuid.uuid4().hex[:6]
    command["campaign"]["id"] = f"{command['campaign']['id']}-{suffix}"
    command["idempotency_key"] = f"demo-{command['campaign']['id']}"
    command["targets"] = targets(connection_ids)
    return command


def start_services(env: dict[str, str]) -> dict[str, subprocess.Popen[bytes]]:
    logs = DEMO / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stop_services()
    procs = {}
    for name, port in SERVICES.items():
        log = open(logs / f"{name}.log", "ab")
        procs[name] = subprocess.Popen(
            [sys.executable, str(ROOT / "services" / name / "service.py")],
            env={**os.environ, **env, "ADRELAY_WEB_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        (DEMO / f"{name}.pid").write_text(str(procs[name].pid))
    deadline = time.monotonic() + 120
    for name, port in SERVICES.items():
        while True:
            if procs[name].poll() is not None:
                raise SystemExit(f"{name} exited; see {logs / (name + '.log')}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} not ready; see {logs / (name + '.log')}")
            time.sleep(0.3)
    return procs


def stop_services() -> None:
    for name in SERVICES:
        pid_file = DEMO / f"{name}.pid"
        if not pid_file.exists():
            continue
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
        pid_file.unlink(missing_ok=True)


def connect_accounts(api: httpx.Client) -> dict[str, str]:
    ids = {}
    for platform, request in CONNECT.items():
        connection_id = DEMO_IDS[platform]
        response = api.post("/connections", json={**request, "id": connection_id})
        if response.status_code == 409:  # connected by an earlier demo: re-authorise with a fresh grant
            response = api.post(
                f"/connections/{connection_id}/reauth", json={"credentials": request["credentials"]}
            )
        response.raise_for_status()
        ids[platform] = connection_id
        console.print(f"  connected {platform:9} as [bold]{connection_id}[/]")
    return ids


def publish(api: httpx.Client, command: dict[str, Any], title: str) -> dict[str, Any]:
    console.rule(f"[bold]{title}")
    response = api.post("/publishes", json=command)
    response.raise_for_status()
    publish_id = response.json()["publish_id"]
    console.print(f"submitted [bold]{command['campaign']['name']}[/] → publish {publish_id}")
    view = watch_until_done(publish_id, console, timeout_s=300)
    console.print(status_tree(view))
    return view


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep-running", action="store_true", help="leave the services running afterwards")
    args = parser.parse_args()
    started = time.monotonic()
    urls = SandboxUrls.local(
        int(os.environ.get("ADRELAY_SANDBOX_META_PORT", "18081")),
        int(os.environ.get("ADRELAY_SANDBOX_TIKTOK_PORT", "18082")),
        int(os.environ.get("ADRELAY_SANDBOX_SNAPCHAT_PORT", "18083")),
    )
    console.print(Panel.fit("adrelay demo: one campaign, three platforms", style="bold cyan"))
    reset_and_seed(urls, SANDBOX_CONFIG)
    forget_platform_state()
    media = write_media()
    media_server = serve_media()
    env = {
        **service_env(urls),
        "ADRELAY_TOKEN_KEYS": token_keys(),
        "ADRELAY_PLATFORM_TIMEOUT_S": "10",
        "ADRELAY_LEASE_S": "10",
        "ADRELAY_RUNNER_POLL_S": "0.5",
        "ADRELAY_REAUTH_RECHECK_S": "5",
        "ADRELAY_LOG_LEVEL": "INFO",
    }
    console.print("starting the five services…")
    start_services(env)
    console.print(f"services ready ({time.monotonic() - started:.1f}s); logs in {DEMO / 'logs'}")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{SERVICES['orchestrator']}", timeout=60) as api:
            connection_ids = connect_accounts(api)
            samples = ROOT / "deploy" / "demo"
            first = publish(
                api,
                campaign(samples / "spring-coffee.yaml", media, connection_ids),
                "1. publish to Meta, TikTok and Snapchat",
            )
            failing = campaign(samples / "autumn-tea.yaml", media, connection_ids)
            rule = {
                "effect": "validation",
                "count": 1,
                "match": {"method": "POST", "path": r"/open_api/v1\.3/adgroup/create/$"},
            }
            httpx.post(f"{urls.tiktok}/_sandbox/faults", json=rule).raise_for_status()
            try:
                second = publish(api, failing, "2. TikTok refuses an ad group: roll back everywhere")
            finally:
                httpx.delete(f"{urls.tiktok}/_sandbox/faults")
    finally:
        if not args.keep_running:
            stop_services()
        media_server.shutdown()
    console.rule("[bold]done")
    console.print(
        f"first publish: [bold]{first['status']}[/]; second: [bold]{second['status']}[/] "
        f"({second.get('reason') or ''})"
    )
    console.print(
        f"demo finished in {time.monotonic() - started:.1f}s. "
        f"Look again with: .venv/bin/adrelay status {first['publish_id']} (with --keep-running)"
    )
    ok = first["status"] == "published" and second["status"] == "rolled_back"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
