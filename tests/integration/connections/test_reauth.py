"""Meta and TikTok tokens cannot be refreshed: an expired or invalid one turns the connection
`reauth_required` with exactly one ReauthRequired in the outbox (never a token), and `reauth`
restores it."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from adrelay.connections import ConnectionManager, ConnectionStatus, ConnectionTokens
from adrelay.events import decode
from adrelay.platforms.auth import ReauthNeeded
from sandbox.meta import fixtures as meta_fx
from sandbox.tiktok import fixtures as tiktok_fx
from tests.integration.connections.support import Sandboxes, reauth_events


async def test_invariant_6_expired_meta_token_marks_reauth_required_with_one_tokenless_event_and_reauth_restores(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, connection_id: str
) -> None:
    await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta", connection_id=connection_id
    )
    # Meta now answers every ad-account read with 190/463 (session expired).
    await sandboxes.fault("meta", {"effect": "expired_token", "match": {"path": "/act_"}})

    outcomes = await asyncio.gather(
        *(manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID, fresh=True) for _ in range(10)),
        return_exceptions=True,
    )
    assert all(isinstance(o, ReauthNeeded) for o in outcomes), outcomes
    assert all(meta_fx.SYSTEM_USER_TOKEN not in str(o) for o in outcomes)
    view = await manager.get(connection_id)
    assert view.status is ConnectionStatus.REAUTH_REQUIRED
    assert view.status_reason and "190/463" in view.status_reason

    events = await reauth_events(db, connection_id)
    assert len(events) == 1, "exactly one ReauthRequired"
    envelope = decode(events[0]["raw"])
    assert envelope.type == "ReauthRequired" and envelope.campaign_id == f"connection:{connection_id}"
    assert events[0]["key"] == f"connection:{connection_id}".encode()
    payload = envelope.payload
    assert payload.connection_id == connection_id  # type: ignore[union-attr]
    assert payload.platform.value == "meta"  # type: ignore[union-attr]
    assert payload.ad_account_ids == [meta_fx.AD_ACCOUNT_ID]  # type: ignore[union-attr]
    for secret in sandboxes.issued_secrets():
        assert secret.encode() not in events[0]["raw"]

    # While it waits for a person, the adapters' token source refuses at once; nothing more is emitted.
    with pytest.raises(ReauthNeeded):
        await ConnectionTokens(manager, connection_id).access_token()
    assert await ConnectionTokens(manager, connection_id).after_auth_error(meta_fx.SYSTEM_USER_TOKEN) is None
    check = await manager.check(connection_id)
    assert not check.ok and not check.token.valid
    assert [a.reason for a in check.accounts] == ["reauth_required"]
    assert len(await reauth_events(db, connection_id)) == 1

    await sandboxes.control("meta", "DELETE", "faults")
    restored = await manager.reauth(connection_id, {"system_user_token": meta_fx.SYSTEM_USER_TOKEN})
    assert restored.status is ConnectionStatus.ACTIVE and restored.status_reason is None
    status = await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)
    assert status.can_spend and status.currency == "USD"
    assert (await manager.check(connection_id)).ok


async def test_meta_token_past_its_expiry_is_caught_before_any_call(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, connection_id: str
) -> None:
    short_life = "EAASandboxShortLifeToken0000000000000000000000000000000000000000000000000007"
    await sandboxes.seed(
        "meta",
        {
            "tokens": [
                {
                    "access_token": short_life,
                    "type": "USER",
                    "scopes": ["ads_management", "ads_read"],
                    "accounts": [meta_fx.AD_ACCOUNT_ID],
                    "expires_in": 2,
                }
            ]
        },
    )
    await manager.connect("meta", {"long_lived_token": short_life}, "Meta user", connection_id=connection_id)
    tokens = ConnectionTokens(manager, connection_id, campaign_id="cmp-reauth-1", publish_id="pub-reauth-1")
    assert await tokens.access_token() == short_life
    await asyncio.sleep(2.2)
    before = len(await sandboxes.requests("meta"))
    with pytest.raises(ReauthNeeded):
        await tokens.access_token()
    assert len(await sandboxes.requests("meta")) == before, "an expired token is known without asking Meta"
    events = await reauth_events(db, connection_id)
    assert len(events) == 1
    # Discovered during a publish: the event travels on that campaign's key, with its publish id.
    assert events[0]["envelope"]["campaign_id"] == "cmp-reauth-1"
    assert events[0]["envelope"]["publish_id"] == "pub-reauth-1"
    check = await manager.check(connection_id)
    assert not check.token.valid


async def test_meta_token_refused_by_the_adapter_is_marked_only_while_it_is_current(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, connection_id: str
) -> None:
    await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta", connection_id=connection_id
    )
    tokens = ConnectionTokens(manager, connection_id)
    # A stale token (not the current one) failing says nothing about the connection.
    assert await tokens.after_auth_error("EAAsomeOlderTokenNotCurrent") == meta_fx.SYSTEM_USER_TOKEN
    assert (await manager.get(connection_id)).status is ConnectionStatus.ACTIVE
    results = await asyncio.gather(*(tokens.after_auth_error(meta_fx.SYSTEM_USER_TOKEN) for _ in range(8)))
    assert results == [None] * 8
    assert (await manager.get(connection_id)).status is ConnectionStatus.REAUTH_REQUIRED
    assert len(await reauth_events(db, connection_id)) == 1


async def test_revoked_tiktok_authorization_needs_reauthentication(
    manager: ConnectionManager, sandboxes: Sandboxes, db: asyncpg.Pool, connection_id: str
) -> None:
    await manager.connect(
        "tiktok", {"access_token": tiktok_fx.ACCESS_TOKEN}, "TikTok", connection_id=connection_id
    )
    # The advertiser revoked the authorization: TikTok answers 40105 (HTTP 200, code in the envelope).
    sandboxes.apps["tiktok"].state.tokens[tiktok_fx.ACCESS_TOKEN].revoked = True  # type: ignore[attr-defined]
    check = await manager.check(connection_id)
    assert not check.ok and not check.token.valid and "40105" in (check.token.reason or "")
    assert (await manager.get(connection_id)).status is ConnectionStatus.REAUTH_REQUIRED
    events = await reauth_events(db, connection_id)
    assert len(events) == 1 and events[0]["envelope"]["payload"]["platform"] == "tiktok"
    assert tiktok_fx.ACCESS_TOKEN.encode() not in events[0]["raw"]
    with pytest.raises(ReauthNeeded):
        await manager.preflight(connection_id, tiktok_fx.ADVERTISER_ID)

    await sandboxes.seed(
        "tiktok",
        {
            "auth_codes": [
                {
                    "auth_code": f"code-{connection_id}",
                    "app_id": tiktok_fx.APP_ID,
                    "advertiser_ids": [tiktok_fx.ADVERTISER_ID],
                }
            ]
        },
    )
    restored = await manager.reauth(connection_id, {"auth_code": f"code-{connection_id}"})
    assert restored.status is ConnectionStatus.ACTIVE
    assert (await manager.preflight(connection_id, tiktok_fx.ADVERTISER_ID)).can_spend
    assert len(await reauth_events(db, connection_id)) == 1
