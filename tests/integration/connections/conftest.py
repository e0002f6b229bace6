"""Fixtures for the connections tests: fresh in-process sandboxes per test, a ConnectionManager on the
test database with a fresh key, and a check after every test that no token or secret reached a log
line."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from adrelay.connections import ConnectionManager, TokenCipher, generate_key
from adrelay.observability.logging import JsonFormatter
from adrelay.storage.db import Database
from tests.conftest import RuntimeEnv
from tests.integration.connections.support import Sandboxes, running_sandboxes

# Loggers of the sandboxes' own servers (stand-ins for the platforms), not adrelay's.
FOREIGN_LOGGERS = ("sandbox", "aiohttp.access", "aiohttp.server")


@pytest_asyncio.fixture(loop_scope="session")
async def sandboxes() -> AsyncIterator[Sandboxes]:
    async with running_sandboxes() as boxes:
        yield boxes


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest_asyncio.fixture(loop_scope="session")
async def database(runtime_env: RuntimeEnv) -> AsyncIterator[Database]:
    database = Database(runtime_env.database_url, max_size=8)
    yield database
    await database.close()


@pytest_asyncio.fixture(loop_scope="session")
async def manager(database: Database, sandboxes: Sandboxes, key: str) -> AsyncIterator[ConnectionManager]:
    manager = ConnectionManager(
        database, sandboxes.settings, cipher=TokenCipher([key]), refresh_margin_s=300, preflight_ttl_s=30
    )
    yield manager
    await manager.close()


@pytest.fixture
def connection_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture, sandboxes: Sandboxes, key: str) -> Iterator[None]:
    """Every log record of the test, at DEBUG: adrelay's own messages never carry a secret, and no
    line as the services write it (the JSON formatter with its redaction) does either."""
    caplog.set_level(logging.DEBUG)
    yield
    secrets = sandboxes.issued_secrets() | {key}
    formatter = JsonFormatter()
    records = caplog.get_records("setup") + caplog.get_records("call")
    leaks = []
    for record in records:
        if record.name.startswith(FOREIGN_LOGGERS):
            continue
        raw = record.getMessage() if record.name.startswith("adrelay") else ""
        line = formatter.format(record)
        for secret in secrets:
            if secret in raw or secret in line:
                leaks.append(f"{record.name}: {secret[:6]}…")
    assert records, "the flow logged nothing at all: the log check would prove nothing"
    assert not leaks, f"secrets in log lines: {leaks}"
