"""Session fixtures on the real parts: one broker and one database per run, services started once.

Nothing here skips: when Kafka or PostgreSQL is missing the tests fail and say so (`make test` starts
them first). Each run gets a fresh database (`<name>_test`) and a fresh topic and consumer-group
prefix, so reruns against the same broker never see old messages.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from adrelay.config import DEFAULT_DATABASE_URL, DEFAULT_KAFKA
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


def _test_database_url() -> str:
    base = os.environ.get("ADRELAY_TEST_DATABASE_URL")
    if base:
        return base
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_test"))


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
    prefix = f"t{uuid.uuid4().hex[:8]}."
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
        ADRELAY_LOG_DIR=str(tmp_path_factory.mktemp("service-logs")),
    )
    os.environ["DATABASE_URL"] = database_url
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    yield env


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


@pytest.fixture(scope="session")
def services(runtime_env: RuntimeEnv) -> Iterator[dict[str, ServiceProcess]]:
    """The five services as processes, started once for the session."""
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
