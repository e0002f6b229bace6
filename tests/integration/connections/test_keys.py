"""Key rotation: new writes use the newest key, rows under an older listed key stay readable, and
`adrelay connections rotate-keys` re-encrypts every row under the newest key. Runs on a database of
its own, so "every row" is exactly the rows this test wrote."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from adrelay.connections import ConnectionManager, TokenCipher, TokenKeyError, generate_key
from adrelay.connections.crypto import KEYS_ENV, key_id
from adrelay.storage.db import Database
from adrelay.storage.migrate import upgrade
from sandbox.meta import fixtures as meta_fx
from sandbox.snapchat import fixtures as snap_fx
from sandbox.tiktok import fixtures as tiktok_fx
from tests.conftest import RuntimeEnv
from tests.integration.connections.support import Sandboxes
from tests.support.processes import REPO


@pytest_asyncio.fixture(loop_scope="session")
async def own_database_url(runtime_env: RuntimeEnv) -> AsyncIterator[str]:
    parts = urlsplit(runtime_env.database_url)
    name = f"{parts.path.lstrip('/')}_keys_{uuid.uuid4().hex[:8]}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'create database "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(parts._replace(path=f"/{name}"))
    await asyncio.to_thread(upgrade, url)
    yield url
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await admin.close()


async def cli(sandboxes: Sandboxes, database_url: str, keys: str | None, *args: str) -> tuple[int, str]:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, **sandboxes.env()}
    if keys is not None:
        env[KEYS_ENV] = keys
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adrelay.cli.main",
        "connections",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode()


async def key_ids(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        return {r["id"]: r["key_id"] for r in await conn.fetch("select id, key_id from platform_connections")}
    finally:
        await conn.close()


async def test_rotation_keeps_old_rows_readable_and_rotate_keys_re_encrypts_them(
    sandboxes: Sandboxes, own_database_url: str
) -> None:
    old, new = generate_key(), generate_key()
    database = Database(own_database_url, max_size=4)
    managers: list[ConnectionManager] = []

    def manager(*keys: str) -> ConnectionManager:
        managers.append(ConnectionManager(database, sandboxes.settings, cipher=TokenCipher(list(keys))))
        return managers[-1]

    try:
        before = manager(old)
        await before.connect(
            "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta", connection_id="k-meta"
        )
        await before.connect(
            "tiktok", {"access_token": tiktok_fx.ACCESS_TOKEN}, "TikTok", connection_id="k-tiktok"
        )
        await before.connect("snapchat", {"code": snap_fx.DEMO_AUTH_CODE}, "Snap", connection_id="k-snap")
        snap_token = await before.access_token("k-snap")
        assert set((await key_ids(own_database_url)).values()) == {key_id(old)}

        # The new key is deployed first (newest first, the old one still listed): old rows still read.
        both = manager(new, old)
        assert await both.access_token("k-meta") == meta_fx.SYSTEM_USER_TOKEN
        assert await both.access_token("k-tiktok") == tiktok_fx.ACCESS_TOKEN
        # A write (here a Snapchat refresh) uses the newest key.
        refreshed = await both.after_auth_error("k-snap", snap_token)
        assert refreshed and refreshed != snap_token
        assert (await key_ids(own_database_url))["k-snap"] == key_id(new)

        code, out = await cli(sandboxes, own_database_url, f"{new},{old}", "rotate-keys")
        assert code == 0, out
        assert "2 connection(s) re-encrypted" in out
        assert set((await key_ids(own_database_url)).values()) == {key_id(new)}

        # The old key can go: the new one alone reads everything; the old one alone reads nothing.
        after = manager(new)
        assert await after.access_token("k-meta") == meta_fx.SYSTEM_USER_TOKEN
        assert await after.access_token("k-tiktok") == tiktok_fx.ACCESS_TOKEN
        assert await after.access_token("k-snap") == refreshed
        assert (await after.check("k-snap")).ok
        with pytest.raises(TokenKeyError) as err:
            await manager(old).access_token("k-meta")
        assert key_id(new) in str(err.value) and meta_fx.SYSTEM_USER_TOKEN not in str(err.value)

        code, out = await cli(sandboxes, own_database_url, new, "rotate-keys")
        assert code == 0 and "0 connection(s) re-encrypted" in out, out

        # A row under a key nobody configured any more is reported by id, never silently skipped.
        lost = generate_key()
        await manager(lost).connect(
            "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "orphan", connection_id="k-orphan"
        )
        code, out = await cli(sandboxes, own_database_url, new, "rotate-keys")
        assert code == 1 and "k-orphan" in out, out
        assert lost not in out and meta_fx.SYSTEM_USER_TOKEN not in out

        code, out = await cli(sandboxes, own_database_url, None, "list")
        assert code == 1 and KEYS_ENV in out, out
        for secret in sandboxes.issued_secrets() | {old, new, lost}:
            assert secret not in out
    finally:
        for m in managers:
            await m.close()
        await database.close()
