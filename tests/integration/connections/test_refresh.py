"""Refresh with one owner: Snapchat rotates refresh tokens, so twenty concurrent refreshers must make
exactly one refresh call, all get the new token, and the connection stays valid."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from adrelay.connections import ConnectionManager, ConnectionStatus, ConnectionTokens, TokenCipher
from adrelay.events.payloads import ErrorCategory
from adrelay.platforms.errors import PlatformCallError
from adrelay.storage.db import Database
from sandbox.snapchat import fixtures as snap_fx
from tests.conftest import RuntimeEnv
from tests.integration.connections.support import Sandboxes, reauth_events


async def seed_code(sandboxes: Sandboxes, code: str) -> None:
    await sandboxes.seed(
        "snapchat",
        {
            "auth_codes": [
                {
                    "code": code,
                    "client_id": snap_fx.DEMO_CLIENT_ID,
                    "redirect_uri": snap_fx.DEMO_REDIRECT_URI,
                    "user_id": snap_fx.DEMO_USER_ID,
                    "organization_ids": [snap_fx.DEMO_ORG_ID],
                }
            ]
        },
    )


async def stored(db: asyncpg.Pool, key: str, connection_id: str) -> tuple[str, str]:
    row = await db.fetchrow(
        "select access_token_enc, refresh_token_enc, key_id from platform_connections where id = $1",
        connection_id,
    )
    assert row is not None
    cipher = TokenCipher([key])
    return (
        cipher.decrypt(row["access_token_enc"], row["key_id"]),
        cipher.decrypt(row["refresh_token_enc"], row["key_id"]),
    )


async def refresh_calls(sandboxes: Sandboxes) -> list[dict[str, object]]:
    return [
        r
        for r in await sandboxes.requests("snapchat")
        if r["path"] == "/login/oauth2/access_token" and r["body"].get("grant_type") == "refresh_token"
    ]


async def refresh_at_sandbox(sandboxes: Sandboxes, refresh_token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sandboxes.urls["snapchat"]) as client:
        return await client.post(
            "/login/oauth2/access_token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": snap_fx.DEMO_CLIENT_ID,
                "client_secret": snap_fx.DEMO_CLIENT_SECRET,
            },
        )


async def test_twenty_concurrent_refreshes_from_four_processes_make_one_refresh_call(
    manager: ConnectionManager,
    sandboxes: Sandboxes,
    db: asyncpg.Pool,
    key: str,
    connection_id: str,
    runtime_env: RuntimeEnv,
) -> None:
    await seed_code(sandboxes, f"code-{connection_id}")
    await manager.connect("snapchat", {"code": f"code-{connection_id}"}, "Snap", connection_id=connection_id)
    old_access, old_refresh = await stored(db, key, connection_id)
    version_before = (await manager.get(connection_id)).version

    # Four managers with their own pools stand for four service processes: only the row lock can
    # serialize them. Each of twenty callers had a call refused with the old token.
    databases = [Database(runtime_env.database_url, max_size=5) for _ in range(4)]
    managers = [ConnectionManager(d, sandboxes.settings, cipher=TokenCipher([key])) for d in databases]
    try:
        tokens = [ConnectionTokens(managers[i % 4], connection_id) for i in range(20)]
        results = await asyncio.gather(*(t.after_auth_error(old_access) for t in tokens))
    finally:
        for m, d in zip(managers, databases, strict=True):
            await m.close()
            await d.close()

    assert len(await refresh_calls(sandboxes)) == 1, "more than one refresh reached Snapchat"
    new_access, new_refresh = await stored(db, key, connection_id)
    assert new_access != old_access and new_refresh != old_refresh
    assert set(results) == {new_access}, "every caller gets the new token"
    view = await manager.get(connection_id)
    assert view.status is ConnectionStatus.ACTIVE and view.last_refreshed_at is not None
    assert view.version == version_before + 1

    # Rotation happened at Snapchat: the old refresh token is dead, the stored one is the live one.
    dead = await refresh_at_sandbox(sandboxes, old_refresh)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    assert new_refresh in sandboxes.apps["snapchat"].state.refresh_tokens  # type: ignore[attr-defined]
    assert not sandboxes.apps["snapchat"].state.refresh_tokens[new_refresh]["revoked"]  # type: ignore[attr-defined]
    result = await manager.check(connection_id)
    assert result.ok and result.token.valid
    assert await reauth_events(db, connection_id) == []


async def test_twenty_callers_near_expiry_refresh_once_ahead_of_time(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, key: str, connection_id: str
) -> None:
    await seed_code(sandboxes, f"code-{connection_id}")
    await manager.connect("snapchat", {"code": f"code-{connection_id}"}, "Snap", connection_id=connection_id)
    old_access, _ = await stored(db, key, connection_id)
    # Inside the refresh margin (300 s) but not yet expired: refreshed proactively.
    await db.execute(
        "update platform_connections set expires_at = now() + interval '60 seconds' where id = $1",
        connection_id,
    )
    results = await asyncio.gather(*(manager.access_token(connection_id) for _ in range(20)))
    new_access, _ = await stored(db, key, connection_id)
    assert new_access != old_access
    assert set(results) == {new_access}
    assert len(await refresh_calls(sandboxes)) == 1
    view = await manager.get(connection_id)
    assert view.expires_at is not None and (view.expires_at - view.updated_at).total_seconds() > 3000
    # The old access token still works at Snap until its hour is up; the new one certainly does.
    status = await manager.preflight(connection_id, snap_fx.DEMO_AD_ACCOUNT_ID)
    assert status.can_spend


async def test_expired_access_token_refused_by_snapchat_is_refreshed_and_the_call_retried(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, key: str, connection_id: str
) -> None:
    await seed_code(sandboxes, f"code-{connection_id}")
    await manager.connect("snapchat", {"code": f"code-{connection_id}"}, "Snap", connection_id=connection_id)
    old_access, _ = await stored(db, key, connection_id)
    await sandboxes.fault(
        "snapchat",
        {"effect": "expired_token", "match": {"method": "GET", "path": "^/v1/adaccounts/"}, "count": 1},
    )
    status = await manager.preflight(connection_id, snap_fx.DEMO_AD_ACCOUNT_ID)
    assert status.can_spend
    assert len(await refresh_calls(sandboxes)) == 1
    assert (await stored(db, key, connection_id))[0] != old_access
    calls = [r for r in await sandboxes.requests("snapchat") if r["path"].startswith("/v1/adaccounts/")]
    assert [c["status"] for c in calls] == [401, 200]


async def test_a_refused_refresh_needs_reauthentication_once_and_reauth_restores(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, key: str, connection_id: str
) -> None:
    await seed_code(sandboxes, f"code-{connection_id}")
    await manager.connect("snapchat", {"code": f"code-{connection_id}"}, "Snap", connection_id=connection_id)
    old_access, old_refresh = await stored(db, key, connection_id)
    # Someone else spent the refresh token (the very race the lock prevents inside adrelay).
    assert (await refresh_at_sandbox(sandboxes, old_refresh)).status_code == 200

    results = await asyncio.gather(
        *(ConnectionTokens(manager, connection_id).after_auth_error(old_access) for _ in range(5))
    )
    assert results == [None] * 5
    view = await manager.get(connection_id)
    assert view.status is ConnectionStatus.REAUTH_REQUIRED
    assert view.status_reason and "invalid_grant" in view.status_reason
    events = await reauth_events(db, connection_id)
    assert len(events) == 1
    payload = events[0]["envelope"]["payload"]
    assert payload["platform"] == "snapchat" and payload["ad_account_ids"] == [snap_fx.DEMO_AD_ACCOUNT_ID]
    assert old_refresh.encode() not in events[0]["raw"] and old_access.encode() not in events[0]["raw"]

    await seed_code(sandboxes, f"again-{connection_id}")
    restored = await manager.reauth(connection_id, {"code": f"again-{connection_id}"})
    assert restored.status is ConnectionStatus.ACTIVE and restored.status_reason is None
    assert (await manager.preflight(connection_id, snap_fx.DEMO_AD_ACCOUNT_ID)).can_spend


async def test_a_refresh_outage_changes_nothing_and_an_unanswered_refresh_is_found_out_on_the_next(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, key: str, connection_id: str
) -> None:
    await seed_code(sandboxes, f"code-{connection_id}")
    await manager.connect("snapchat", {"code": f"code-{connection_id}"}, "Snap", connection_id=connection_id)
    tokens = ConnectionTokens(manager, connection_id)
    access, refresh = await stored(db, key, connection_id)
    token_path = "^/login/oauth2/access_token$"

    # Snapchat's token endpoint is down: the caller gets a retryable error, the row is untouched.
    await sandboxes.fault("snapchat", {"effect": "transient", "match": {"path": token_path}, "count": 1})
    with pytest.raises(PlatformCallError) as err:
        await tokens.after_auth_error(access)
    assert err.value.category is ErrorCategory.TRANSIENT and err.value.retryable
    assert await stored(db, key, connection_id) == (access, refresh)
    renewed = await tokens.after_auth_error(access)
    assert renewed and renewed != access
    access, refresh = await stored(db, key, connection_id)

    # The refresh is applied at Snapchat but its answer is lost: the stored refresh token is now spent
    # and adrelay cannot know. The caller gets a retryable error (never OutcomeUnknown: that one means
    # "a create may have happened" to the engine) ...
    await sandboxes.fault(
        "snapchat", {"effect": "drop_after_apply", "match": {"path": token_path}, "count": 1}
    )
    with pytest.raises(PlatformCallError) as err:
        await tokens.after_auth_error(access)
    assert err.value.category is ErrorCategory.TRANSIENT
    assert await stored(db, key, connection_id) == (access, refresh)
    # ... and the next refresh learns the truth: a person must re-authenticate, said once.
    assert await tokens.after_auth_error(access) is None
    assert (await manager.get(connection_id)).status is ConnectionStatus.REAUTH_REQUIRED
    assert len(await reauth_events(db, connection_id)) == 1
