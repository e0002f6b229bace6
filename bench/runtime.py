"""The bench run's own stack, set up like the test session's and never shared with it.

A database `<name>_bench_<run>` (migrated with `adrelay.storage.migrate.upgrade`, dropped at the end), a
topic and consumer-group prefix `b<run>.` (topics deleted at the end), the three sandboxes as one
process on random free ports, a media server, one connection per platform made through the
connections module, and — for the end-to-end benchmark — the five services as processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from adrelay.config import DEFAULT_DATABASE_URL, DEFAULT_KAFKA
from adrelay.connections import generate_key
from sandbox.stack import CONNECT, SandboxUrls, reset_and_seed, service_env
from sandbox.stack import targets as stack_targets
from tests.support.media_server import MediaServer
from tests.support.processes import REPO, ServiceProcess, free_port

log = logging.getLogger("bench")

PLATFORMS = ("meta", "tiktok", "snapchat")
SERVICES = ("orchestrator", "meta-publisher", "tiktok-publisher", "snapchat-publisher", "tracker")
LATENCY_MS = 50


def sandbox_config(latency_ms: int = LATENCY_MS) -> dict[str, dict[str, Any]]:
    """What every benchmark starts from: 50 ms per call, videos ready at once, reviews after 1 s."""
    return {
        p: {
            "base_latency_ms": latency_ms,
            "jitter_ms": 0,
            "video_processing_s": 0,
            "review_delay_s": 1.0,
            "webhook_retry_s": 0.2,
        }
        for p in PLATFORMS
    }


class BenchRuntime:
    """Everything one bench run owns; `close()` stops and removes all of it."""

    def __init__(self, out_dir: Path, run_id: str | None = None) -> None:
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.out_dir = out_dir
        self.log_dir = out_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_KAFKA
        parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        self.database_url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + f"_bench_{self.run_id}"))
        self.prefix = f"b{self.run_id}."
        self.env: dict[str, str] = {}
        self.urls: SandboxUrls | None = None
        self.sandboxes: ServiceProcess | None = None
        self.media: MediaServer | None = None
        self.services: dict[str, ServiceProcess] = {}
        self.connection_ids: dict[str, str] = {}
        self.meta_accounts: list[str] = []

    # ---- setup -------------------------------------------------------------------------------------
    async def start(self) -> None:
        from adrelay.messaging.admin import ensure_topics
        from adrelay.runtime_checks import kafka_round_trip
        from adrelay.storage.migrate import upgrade

        try:
            await kafka_round_trip(self.bootstrap, deadline_s=20)
        except Exception as exc:
            raise SystemExit(f"Kafka is not reachable at {self.bootstrap} (run `make up`): {exc}") from exc
        try:
            await _recreate_database(self.database_url)
        except Exception as exc:
            raise SystemExit(
                f"PostgreSQL is not reachable for {self.database_url} (run `make up`): {exc}"
            ) from exc
        await asyncio.to_thread(upgrade, self.database_url)
        os.environ["ADRELAY_TOPIC_PREFIX"] = self.prefix
        await ensure_topics(self.bootstrap)
        self.env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DATABASE_URL": self.database_url,
            "ADRELAY_TOPIC_PREFIX": self.prefix,
            "ADRELAY_LOG_LEVEL": "WARNING",
            "ADRELAY_TOKEN_KEYS": generate_key(),
        }
        os.environ.update(self.env)
        self._start_sandboxes()
        self.media = MediaServer().start()
        assert self.urls is not None
        self.env.update(service_env(self.urls))
        os.environ.update(self.env)
        self.connection_ids = await self._connect_all()

    def _start_sandboxes(self) -> None:
        ports = {p: free_port() for p in PLATFORMS}
        config = self.out_dir / "sandbox-config.json"
        config.write_text(json.dumps(sandbox_config()))
        argv = [sys.executable, "-m", "sandbox", "--config", str(config)]
        for platform, port in ports.items():
            argv += [f"--{platform}-port", str(port)]
        self.sandboxes = ServiceProcess("sandboxes", ports["meta"], dict(self.env), self.log_dir, argv=argv)
        self.sandboxes.start()
        self.urls = SandboxUrls.local(ports["meta"], ports["tiktok"], ports["snapchat"])
        deadline = time.monotonic() + 30
        while True:
            if not self.sandboxes.alive():
                raise SystemExit(f"sandboxes exited:\n{self.sandboxes.log_tail()}")
            try:
                if all(
                    httpx.get(f"{u}/_sandbox/health", timeout=1).status_code == 200
                    for u in self.urls.by_platform().values()
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"sandboxes not ready:\n{self.sandboxes.log_tail()}")
            time.sleep(0.2)
        reset_and_seed(self.urls, sandbox_config())

    async def _connect_all(self) -> dict[str, str]:
        from adrelay.connections import ConnectionManager
        from adrelay.platforms.settings import PlatformSettings
        from adrelay.storage.db import Database

        database = Database(self.database_url)
        manager = ConnectionManager(database, PlatformSettings())
        try:
            ids = {}
            for platform, request in CONNECT.items():
                ids[platform] = await manager.connect(
                    request["platform"],
                    request["credentials"],
                    request["display_name"],
                    connection_id=f"bench-{platform}",
                )
            return ids
        finally:
            await manager.close()
            await database.close()

    async def configure(self, platform: str, config: dict[str, Any]) -> None:
        """POST /_sandbox/config to one sandbox (rate limits merge into the current ones)."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{self.sandbox(platform)}/_sandbox/config", json=config)
            response.raise_for_status()

    async def add_meta_accounts(self, count: int) -> None:
        """More Meta ad accounts under the same system user (an agency's several advertisers): adrelay
        paces Meta per ad account, so publishes spread over `count` accounts get `count` times the pace.
        Seeding is additive; the token is replaced by the same token covering every account."""
        from sandbox.meta import fixtures as meta

        seed = meta.demo_seed()
        base = int(meta.AD_ACCOUNT_NUMBER)
        accounts = [f"act_{base + i}" for i in range(count)]
        template = seed["accounts"][0]
        token = next(t for t in seed["tokens"] if t["access_token"] == meta.SYSTEM_USER_TOKEN)
        payload = {
            "accounts": [{**template, "id": a, "name": f"adrelay bench {i}"} for i, a in enumerate(accounts)],
            "tokens": [{**token, "accounts": accounts}],
            "pixels": [{**seed["pixels"][0], "accounts": accounts}],
        }
        async with httpx.AsyncClient(timeout=10) as client:
            (await client.post(f"{self.sandbox('meta')}/_sandbox/seed", json=payload)).raise_for_status()
        self.meta_accounts = accounts

    # ---- services ----------------------------------------------------------------------------------
    def start_services(self, extra_env: dict[str, str] | None = None) -> dict[str, ServiceProcess]:
        env = {**self.env, **(extra_env or {})}
        self.services = {name: ServiceProcess(name, free_port(), env, self.log_dir) for name in SERVICES}
        for proc in self.services.values():
            proc.start()
        for proc in self.services.values():
            proc.wait_ready(timeout=120)
        return self.services

    def stop_services(self) -> None:
        for proc in self.services.values():
            proc.stop()
        self.services = {}

    def all_processes(self) -> dict[str, ServiceProcess]:
        procs = dict(self.services)
        if self.sandboxes is not None:
            procs["sandboxes"] = self.sandboxes
        return procs

    @property
    def database_name(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    # ---- helpers -----------------------------------------------------------------------------------
    def targets(self, index: int = 0) -> list[dict[str, Any]]:
        """The publish targets; with several Meta ad accounts, the `index`-th one (round robin)."""
        out = stack_targets(self.connection_ids)
        if self.meta_accounts:
            for target in out:
                if target["platform"] == "meta":
                    target["ad_account_id"] = self.meta_accounts[index % len(self.meta_accounts)]
        return out

    def sandbox(self, platform: str) -> str:
        assert self.urls is not None
        return self.urls.by_platform()[platform]

    @property
    def media_server(self) -> MediaServer:
        assert self.media is not None
        return self.media

    # ---- teardown ----------------------------------------------------------------------------------
    async def close(self, keep_database: bool = False) -> None:
        self.stop_services()
        if self.media is not None:
            self.media.stop()
            self.media = None
        if self.sandboxes is not None:
            self.sandboxes.stop()
            self.sandboxes = None
        if not keep_database:
            try:
                await _drop_database(self.database_url)
            except Exception as exc:  # a leftover database is harmless; say so
                print(f"could not drop {self.database_url}: {exc!r}")
        try:
            await _delete_topics(self.bootstrap, self.prefix)
        except Exception as exc:
            print(f"could not delete topics {self.prefix}*: {exc!r}")


async def _recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=5)
    try:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.execute(f'create database "{name}"')
    finally:
        await admin.close()


async def _drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=5)
    try:
        await admin.execute(f'drop database if exists "{parts.path.lstrip("/")}" with (force)')
    finally:
        await admin.close()


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


def repo_root() -> Path:
    return REPO
