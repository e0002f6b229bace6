"""Each platform's connect flow end to end against its sandbox, with the stored token unreadable
without the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from adrelay.connections import (
    ConnectionExists,
    ConnectionManager,
    ConnectionStatus,
    ConnectRejected,
    InvalidRequest,
    TokenCipher,
)
from adrelay.model import Platform
from sandbox.meta import fixtures as meta_fx
from sandbox.snapchat import fixtures as snap_fx
from sandbox.tiktok import fixtures as tiktok_fx
from tests.integration.connections.support import Sandboxes, raw_row


async def stored_tokens(db: asyncpg.Pool, key: str, connection_id: str) -> tuple[str, str | None]:
    row = await db.fetchrow(
        "select access_token_enc, refresh_token_enc, key_id from platform_connections where id = $1",
        connection_id,
    )
    assert row is not None
    cipher = TokenCipher([key])
    refresh = row["refresh_token_enc"]
    return (
        cipher.decrypt(row["access_token_enc"], row["key_id"]),
        cipher.decrypt(refresh, row["key_id"]) if refresh else None,
    )


async def test_invariant_6_meta_system_user_token_connects_and_is_encrypted_at_rest(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, key: str, connection_id: str
) -> None:
    new_id = await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta demo", connection_id=connection_id
    )
    assert new_id == connection_id
    view = await manager.get(connection_id)
    assert view.platform is Platform.META and view.status is ConnectionStatus.ACTIVE
    assert view.ad_account_ids == [meta_fx.AD_ACCOUNT_ID]
    assert "ads_management" in view.scopes
    assert view.expires_at is None  # system-user token: expires_at 0 = never
    assert view.token_type == "system_user" and view.app_id == meta_fx.APP_ID
    assert not view.refreshable
    assert view.key_id == TokenCipher([key]).current_key_id

    raw = await raw_row(db, connection_id)
    assert meta_fx.SYSTEM_USER_TOKEN.encode() not in raw, "the token is readable in the table"
    assert (await stored_tokens(db, key, connection_id))[0] == meta_fx.SYSTEM_USER_TOKEN
    assert meta_fx.SYSTEM_USER_TOKEN not in repr(view.to_json())
    assert await manager.access_token(connection_id) == meta_fx.SYSTEM_USER_TOKEN

    calls = [r["path"] for r in await sandboxes.requests("meta")]
    assert any(p.endswith("/debug_token") for p in calls)
    assert any(p.endswith("/me/adaccounts") for p in calls)


async def test_meta_short_lived_token_is_exchanged_for_a_long_lived_one(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, key: str, connection_id: str
) -> None:
    await manager.connect(
        Platform.META,
        {"short_lived_token": meta_fx.SHORT_LIVED_USER_TOKEN},
        "Meta user",
        connection_id=connection_id,
    )
    view = await manager.get(connection_id)
    access, refresh = await stored_tokens(db, key, connection_id)
    assert access != meta_fx.SHORT_LIVED_USER_TOKEN and refresh is None
    assert access in sandboxes.apps["meta"].auth.tokens  # type: ignore[attr-defined]
    assert view.expires_at is not None
    assert timedelta(days=59) < view.expires_at - datetime.now(UTC) < timedelta(days=61)
    assert view.token_type == "user"
    exchange = [r for r in await sandboxes.requests("meta") if r["path"].endswith("/oauth/access_token")]
    assert len(exchange) == 1
    assert exchange[0]["query"]["grant_type"] == "fb_exchange_token"
    assert exchange[0]["query"]["client_id"] == meta_fx.APP_ID
    raw = await raw_row(db, connection_id)
    assert access.encode() not in raw and meta_fx.SHORT_LIVED_USER_TOKEN.encode() not in raw


async def test_meta_token_without_ads_management_is_refused(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, connection_id: str
) -> None:
    weak = "EAASandboxReadOnlyToken00000000000000000000000000000000000000000000000000009"
    await sandboxes.seed(
        "meta",
        {"tokens": [{"access_token": weak, "type": "SYSTEM_USER", "scopes": ["ads_read"], "expires_at": 0}]},
    )
    with pytest.raises(ConnectRejected, match="ads_management") as err:
        await manager.connect("meta", {"system_user_token": weak}, "read only", connection_id=connection_id)
    assert weak not in str(err.value)
    assert await db.fetchval("select count(*) from platform_connections where id = $1", connection_id) == 0


async def test_meta_expired_or_unknown_token_is_refused_at_connect(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    expired = "EAASandboxExpiredToken000000000000000000000000000000000000000000000000000008"
    await sandboxes.seed("meta", {"tokens": [{"access_token": expired, "type": "USER", "expires_in": -60}]})
    with pytest.raises(ConnectRejected) as err:
        await manager.connect("meta", {"system_user_token": expired}, "expired", connection_id=connection_id)
    assert expired not in str(err.value)
    with pytest.raises(ConnectRejected):
        await manager.connect("meta", {"short_lived_token": expired}, "expired", connection_id=connection_id)


async def test_tiktok_auth_code_connects_to_its_advertisers(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, key: str, connection_id: str
) -> None:
    await manager.connect(
        "tiktok", {"auth_code": tiktok_fx.AUTH_CODE}, "TikTok demo", connection_id=connection_id
    )
    view = await manager.get(connection_id)
    assert view.ad_account_ids == [tiktok_fx.ADVERTISER_ID]
    assert view.expires_at is None and not view.refreshable and view.token_type == "long_term"
    assert (await stored_tokens(db, key, connection_id)) == (tiktok_fx.AUTH_CODE_TOKEN, None)
    assert tiktok_fx.AUTH_CODE_TOKEN.encode() not in await raw_row(db, connection_id)
    exchange = [r for r in await sandboxes.requests("tiktok") if r["path"].endswith("/oauth2/access_token/")]
    assert exchange and exchange[0]["body"]["app_id"] == tiktok_fx.APP_ID

    result = await manager.check(connection_id)
    assert result.ok and result.token.valid
    assert [(a.account_id, a.can_spend, a.currency) for a in result.accounts] == [
        (tiktok_fx.ADVERTISER_ID, True, "USD")
    ]

    # The code is single use: bringing it again is refused, with no secret in the message.
    with pytest.raises(ConnectRejected) as err:
        await manager.connect("tiktok", {"auth_code": tiktok_fx.AUTH_CODE}, "again")
    assert tiktok_fx.AUTH_CODE not in str(err.value)


async def test_tiktok_long_term_token_taken_as_is(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    await manager.connect(
        "tiktok", {"access_token": tiktok_fx.ACCESS_TOKEN}, "TikTok", connection_id=connection_id
    )
    view = await manager.get(connection_id)
    assert view.ad_account_ids == [tiktok_fx.ADVERTISER_ID]
    assert await manager.access_token(connection_id) == tiktok_fx.ACCESS_TOKEN


async def test_snapchat_code_connects_with_access_and_refresh_token(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, key: str, connection_id: str
) -> None:
    await manager.connect(
        "snapchat", {"code": snap_fx.DEMO_AUTH_CODE}, "Snap demo", connection_id=connection_id
    )
    view = await manager.get(connection_id)
    assert view.refreshable and view.ad_account_ids == [snap_fx.DEMO_AD_ACCOUNT_ID]
    assert view.scopes == ["snapchat-marketing-api"]
    assert view.expires_at is not None
    assert timedelta(minutes=55) < view.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    access, refresh = await stored_tokens(db, key, connection_id)
    snap = sandboxes.apps["snapchat"]
    assert access in snap.state.tokens and refresh in snap.state.refresh_tokens  # type: ignore[attr-defined]
    raw = await raw_row(db, connection_id)
    assert access.encode() not in raw and refresh is not None and refresh.encode() not in raw
    token_calls = [
        r for r in await sandboxes.requests("snapchat") if r["path"] == "/login/oauth2/access_token"
    ]
    assert [c["body"]["grant_type"] for c in token_calls] == ["authorization_code"]
    assert token_calls[0]["body"]["redirect_uri"] == snap_fx.DEMO_REDIRECT_URI

    status = await manager.preflight(connection_id, snap_fx.DEMO_AD_ACCOUNT_ID)
    assert status.reachable and status.can_spend
    assert (status.currency, status.timezone, status.status) == ("USD", snap_fx.DEMO_TIMEZONE, "ACTIVE")


async def test_duplicate_ids_bad_platforms_and_empty_credentials_are_refused(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "one", connection_id=connection_id
    )
    with pytest.raises(ConnectionExists):
        await manager.connect(
            "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "two", connection_id=connection_id
        )
    with pytest.raises(InvalidRequest):
        await manager.connect("myspace", {"token": "x"}, "nope")
    with pytest.raises(InvalidRequest):
        await manager.connect("meta", {}, "nothing")
    with pytest.raises(InvalidRequest):
        await manager.connect("meta", {"system_user_token": "x"}, "bad id", connection_id="has spaces")
