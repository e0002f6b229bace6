"""Revoking a connection erases its tokens at once: nothing publishes with it (pre-flight refuses it,
a runner's next token request fails), the check says why, and only a new authorization (`reauth`)
brings it back."""

from __future__ import annotations

import asyncpg
import pytest

from adrelay.connections import (
    ConnectionManager,
    ConnectionNotFound,
    ConnectionRevoked,
    ConnectionStatus,
    ConnectionTokens,
)
from adrelay.connections import repository as repo
from adrelay.platforms.auth import ReauthNeeded
from sandbox.meta import fixtures as meta_fx
from sandbox.snapchat import fixtures as snap_fx
from tests.integration.connections.support import Sandboxes, raw_row, reauth_events


async def ciphertexts(db: asyncpg.Pool, connection_id: str) -> tuple[object, object]:
    row = await db.fetchrow(
        "select access_token_enc, refresh_token_enc from platform_connections where id = $1", connection_id
    )
    assert row is not None
    return row["access_token_enc"], row["refresh_token_enc"]


async def test_a_revoked_connection_keeps_no_token_and_nothing_publishes_with_it_until_reauth(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, connection_id: str
) -> None:
    await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta", connection_id=connection_id
    )
    assert (await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)).can_spend  # now cached

    revoked = await manager.revoke(connection_id, "the client took the account back")
    assert revoked.status is ConnectionStatus.REVOKED
    assert revoked.status_reason == "the client took the account back"
    assert await ciphertexts(db, connection_id) == (None, None)
    assert meta_fx.SYSTEM_USER_TOKEN.encode() not in await raw_row(db, connection_id)

    # The cached pre-flight answer is gone with it: a new publish naming it is refused, saying why.
    with pytest.raises(ConnectionRevoked, match=f"{connection_id} \\(meta\\) is revoked: the client took"):
        await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)
    # A run that holds the connection fails its next call as an auth failure; nothing is refreshed.
    tokens = ConnectionTokens(manager, connection_id)
    with pytest.raises(ReauthNeeded, match="revoked"):
        await tokens.access_token()
    assert await tokens.after_auth_error(meta_fx.SYSTEM_USER_TOKEN) is None
    check = await manager.check(connection_id)
    assert not check.ok and not check.token.valid
    assert [a.reason for a in check.accounts] == ["revoked"]
    assert await reauth_events(db, connection_id) == [], "a revocation asks nobody to re-authenticate"

    again = await manager.revoke(connection_id, "a second reason")
    assert again.version == (await manager.get(connection_id)).version
    assert again.status_reason == "the client took the account back", "revoking again changes nothing"
    async with db.acquire() as conn:
        rotating = await repo.under_other_keys(conn, "a-key-nobody-has", [], 100_000)
    assert connection_id not in {r["id"] for r in rotating}, "key rotation has nothing of it to re-encrypt"

    restored = await manager.reauth(connection_id, {"system_user_token": meta_fx.SYSTEM_USER_TOKEN})
    assert restored.status is ConnectionStatus.ACTIVE and restored.status_reason is None
    assert (await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)).can_spend
    assert await tokens.access_token() == meta_fx.SYSTEM_USER_TOKEN


async def test_revoking_a_snapchat_connection_erases_its_refresh_token_too(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, connection_id: str
) -> None:
    await manager.connect("snapchat", {"code": snap_fx.DEMO_AUTH_CODE}, "Snap", connection_id=connection_id)
    assert (await manager.get(connection_id)).refreshable
    view = await manager.revoke(connection_id)
    assert view.status is ConnectionStatus.REVOKED and view.status_reason == "revoked by an operator"
    assert not view.refreshable and view.expires_at is None
    assert await ciphertexts(db, connection_id) == (None, None)
    calls = len(await sandboxes.requests("snapchat"))
    with pytest.raises(ReauthNeeded):
        await ConnectionTokens(manager, connection_id).access_token()
    assert len(await sandboxes.requests("snapchat")) == calls, "no refresh is tried with an erased token"


async def test_the_database_refuses_a_live_connection_without_a_token(
    manager: ConnectionManager, db: asyncpg.Pool, connection_id: str
) -> None:
    await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta", connection_id=connection_id
    )
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "update platform_connections set access_token_enc = null where id = $1", connection_id
        )
    await manager.revoke(connection_id)
    with pytest.raises(asyncpg.CheckViolationError):  # and a revoked one with a token
        await db.execute("update platform_connections set status = 'active' where id = $1", connection_id)
    with pytest.raises(ConnectionNotFound):
        await manager.revoke("no-such-connection")
