"""Session fixtures on the real parts: one broker and one database per run, services started once.

Nothing here skips: when Kafka or PostgreSQL is missing the tests fail and say so (`make test` starts
them first). Each run gets a fresh database (`<name>_test`) and a fresh topic and consumer-group
prefix, so reruns against the same broker never see old messages.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio

from adrelay.config import DEFAULT_DATABASE_URL, DEFAULT_KAFKA
from adrelay.connections import generate_key
from sandbox.stack import CONNECT, SandboxUrls, reset_and_seed, service_env
from sandbox.stack import targets as stack_targets
from tests.support.media_server import MediaServer
from tests.support.processes import REPO, ServiceProcess, free_port

# What the user set before the test session changed the environment (None: the local runtime's PostgreSQL).
USER_DATABASE_URL = os.environ.get("DATABASE_URL") or None
USER_KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None
KIND_ORDER = ["unit", "sandbox", "integration", "e2e", "chaos"]
SERVICES = ("orchestrator", "meta-publisher", "tiktok-publisher", "snapchat-publisher", "tracker")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast kinds first; chaos (which stops PostgreSQL and kills processes) last."""

    def kind(item: pytest.Item) -> int:
        parts = Path(str(item.fspath)).relative_to(REPO / "tests").parts
        return KIND_ORDER.index(parts[0]) if parts and parts[0] in KIND_ORDER else len(KIND_ORDER)

    items.sort(key=kind)


SESSION = uuid.uuid4().hex[:8]  # names this run's database, topics and consumer groups


def _test_database_url() -> str:
    """A database of this run's own (`<name>_test_<session>`), so concurrent runs never meet."""
    base = os.environ.get("ADRELAY_TEST_DATABASE_URL")
    if base:
        return base
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + f"_test_{SESSION}"))


class RuntimeEnv(dict[str, str]):
    """The environment every service process and helper of this test run uses."""

    @property
    def bootstrap(self) -> str:
        return self["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def database_url(self) -> str:
        return self["DATABASE_URL"]


@pytest.fixture(scope="session")
def runtime_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeEnv]:
    from adrelay.messaging.admin import ensure_topics
    from adrelay.runtime_checks import kafka_round_trip
    from adrelay.storage.migrate import upgrade

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_KAFKA
    database_url = _test_database_url()
    try:
        asyncio.run(kafka_round_trip(bootstrap, deadline_s=20))
    except Exception as exc:
        pytest.fail(f"Kafka is not reachable at {bootstrap} (run `make up`): {exc}", pytrace=False)
    try:
        asyncio.run(_recreate_database(database_url))
    except Exception as exc:
        pytest.fail(f"PostgreSQL is not reachable for {database_url} (run `make up`): {exc}", pytrace=False)
    upgrade(database_url)
    prefix = f"t{SESSION}."
    os.environ["ADRELAY_TOPIC_PREFIX"] = prefix
    asyncio.run(ensure_topics(bootstrap))
    env = RuntimeEnv(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        DATABASE_URL=database_url,
        ADRELAY_TOPIC_PREFIX=prefix,
        ADRELAY_SESSION_TIMEOUT_S="6",
        ADRELAY_HEARTBEAT_INTERVAL_S="1",
        ADRELAY_COMMIT_INTERVAL_S="0.5",
        ADRELAY_OUTBOX_POLL_S="0.5",
        ADRELAY_LOG_LEVEL="INFO",
        # Engine and orchestrator timings scaled for tests (production defaults in parentheses).
        ADRELAY_PLATFORM_TIMEOUT_S="5",  # (30) a create in flight under an expired lease ends by then
        ADRELAY_LEASE_S="4",  # (30)
        ADRELAY_RUNNER_POLL_S="0.3",  # (1)
        ADRELAY_ORCHESTRATOR_POLL_S="0.3",  # (0.5)
        ADRELAY_PLATFORM_DEADLINE_S="15",  # (300)
        ADRELAY_REAUTH_RECHECK_S="1",  # (30)
        ADRELAY_CONSUMER_STALL_S="15",  # (120) a consumer that delivers nothing while messages wait
        ADRELAY_LOG_DIR=str(tmp_path_factory.mktemp("service-logs")),
        ADRELAY_FAUST_DATADIR=str(tmp_path_factory.mktemp("faust-data")),  # pytest prunes it with the run
    )
    os.environ["DATABASE_URL"] = database_url
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    os.environ["ADRELAY_PLATFORM_TIMEOUT_S"] = env["ADRELAY_PLATFORM_TIMEOUT_S"]  # in-process engines too
    yield env
    if not os.environ.get("ADRELAY_TEST_KEEP_DATABASE"):
        try:
            asyncio.run(_drop_database(database_url))
        except Exception as exc:  # a leftover database is harmless; say so and move on
            print(f"could not drop {database_url}: {exc!r}")


async def _drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=5)
    try:
        await admin.execute(f'drop database if exists "{parts.path.lstrip("/")}" with (force)')
    finally:
        await admin.close()


async def _recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=5)
    try:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.execute(f'create database "{name}"')
    finally:
        await admin.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db(runtime_env: RuntimeEnv) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(runtime_env.database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


# Sandbox timings for the suite: short reviews and video processing, no added latency.
SANDBOX_CONFIG: dict[str, dict[str, Any]] = {
    platform: {"review_delay_s": 1.0, "video_processing_s": 0.5, "webhook_retry_s": 0.2}
    for platform in ("meta", "tiktok", "snapchat")
}
# The whole suite publishes through one Meta ad account within the hour Meta counts usage over: give it
# an advanced-access quota, so usage never nears the point where adrelay slows down (tested on its own
# in tests/integration/platforms/test_meta_adapter.py).
SANDBOX_CONFIG["meta"]["rate_limits"] = {"calls_per_window": 1_000_000, "window_s": 3600}


class Stack:
    """The sandboxes, the media server and the connections of this test run."""

    def __init__(self, urls: SandboxUrls, media: MediaServer, env: dict[str, str]) -> None:
        self.urls = urls
        self.media = media
        self.env = env
        self.connection_ids: dict[str, str] = {}

    def targets(self) -> list[dict[str, Any]]:
        return stack_targets(self.connection_ids)

    def sandbox(self, platform: str) -> str:
        return self.urls.by_platform()[platform]


@pytest.fixture(scope="session")
def stack(runtime_env: RuntimeEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The three sandboxes as one process (seeded with the demo accounts), a media server, and one
    connection per platform made through the connections module, as a person would."""
    ports = {p: free_port() for p in ("meta", "tiktok", "snapchat")}
    config = tmp_path_factory.mktemp("sandbox") / "config.json"
    config.write_text(json.dumps(SANDBOX_CONFIG))
    argv = [sys.executable, "-m", "sandbox", "--config", str(config)]
    for platform, port in ports.items():
        argv += [f"--{platform}-port", str(port)]
    sandboxes = ServiceProcess(
        "sandboxes", ports["meta"], dict(runtime_env), Path(runtime_env["ADRELAY_LOG_DIR"]), argv=argv
    )
    sandboxes.start()
    urls = SandboxUrls.local(ports["meta"], ports["tiktok"], ports["snapchat"])
    _wait_sandboxes(urls, sandboxes)
    reset_and_seed(urls)
    media = MediaServer().start()
    env = {**service_env(urls), "ADRELAY_TOKEN_KEYS": generate_key()}
    runtime_env.update(env)
    os.environ.update(env)
    stack = Stack(urls, media, env)
    stack.connection_ids = asyncio.run(_connect_all(runtime_env))
    try:
        yield stack
    finally:
        media.stop()
        sandboxes.stop()


def _wait_sandboxes(urls: SandboxUrls, proc: ServiceProcess) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not proc.alive():
            raise AssertionError(f"sandboxes exited:\n{proc.log_tail()}")
        try:
            if all(
                httpx.get(f"{u}/_sandbox/health", timeout=1).status_code == 200
                for u in urls.by_platform().values()
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"sandboxes not ready:\n{proc.log_tail()}")


async def _connect_all(env: RuntimeEnv) -> dict[str, str]:
    from adrelay.connections import ConnectionManager
    from adrelay.platforms.settings import PlatformSettings
    from adrelay.storage.db import Database

    database = Database(env.database_url)
    manager = ConnectionManager(database, PlatformSettings())
    try:
        ids = {}
        for platform, request in CONNECT.items():
            ids[platform] = await manager.connect(
                request["platform"],
                request["credentials"],
                request["display_name"],
                connection_id=f"demo-{platform}",
            )
        return ids
    finally:
        await manager.close()
        await database.close()


@pytest.fixture(scope="session")
def services(runtime_env: RuntimeEnv, stack: Stack) -> Iterator[dict[str, ServiceProcess]]:
    """The five services as processes, started once for the session, pointed at the sandboxes."""
    log_dir = Path(runtime_env["ADRELAY_LOG_DIR"])
    procs = {name: ServiceProcess(name, free_port(), dict(runtime_env), log_dir) for name in SERVICES}
    for proc in procs.values():
        proc.start()
    try:
        for proc in procs.values():
            proc.wait_ready(timeout=90)
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()
