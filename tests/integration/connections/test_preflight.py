"""Account pre-flight: reachable and able to spend, or a clear typed reason; answers cached briefly."""

from __future__ import annotations

import asyncio

import pytest

from adrelay.connections import AccountProblem, ConnectionManager, ConnectionNotFound, PlatformUnavailable
from adrelay.model import Platform
from sandbox.meta import fixtures as meta_fx
from sandbox.snapchat import fixtures as snap_fx
from sandbox.tiktok import fixtures as tiktok_fx
from tests.integration.connections.support import Sandboxes

DISABLED_ACCOUNT = "act_1000000000000002"
UNPAID_ACCOUNT = "act_1000000000000003"
REVIEW_ACCOUNT = "act_1000000000000004"
CLOSED_ACCOUNT = "act_1000000000000005"
OTHER_ACCOUNT = "act_1000000000000009"


async def test_meta_accounts_each_fail_with_their_reason(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    accounts = {
        DISABLED_ACCOUNT: {"account_status": 2, "disable_reason": 1},
        UNPAID_ACCOUNT: {"account_status": 1, "has_payment_method": False},
        REVIEW_ACCOUNT: {"account_status": 7},
        CLOSED_ACCOUNT: {"account_status": 101},
        OTHER_ACCOUNT: {"account_status": 1},
    }
    token = "EAASandboxPreflightToken000000000000000000000000000000000000000000000000006"
    await sandboxes.seed(
        "meta",
        {
            "accounts": [
                {"id": a, "currency": "EUR", "timezone_name": "Europe/Paris", **f}
                for a, f in accounts.items()
            ],
            "tokens": [
                {
                    "access_token": token,
                    "type": "SYSTEM_USER",
                    "expires_at": 0,
                    "accounts": [meta_fx.AD_ACCOUNT_ID, *list(accounts)[:-1]],
                }
            ],
        },
    )
    await manager.connect("meta", {"system_user_token": token}, "Meta many", connection_id=connection_id)
    assert sorted((await manager.get(connection_id)).ad_account_ids) == sorted(
        [meta_fx.AD_ACCOUNT_ID, *list(accounts)[:-1]]
    )

    ok = await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_NUMBER)  # bare number works too
    assert (ok.account_id, ok.reachable, ok.can_spend, ok.reason) == (meta_fx.AD_ACCOUNT_ID, True, True, None)
    assert (ok.currency, ok.timezone, ok.status) == ("USD", "America/New_York", "ACTIVE")
    assert ok.minimums.get("min_daily_budget_imp")

    expected = {
        DISABLED_ACCOUNT: (True, AccountProblem.DISABLED, "DISABLED"),
        UNPAID_ACCOUNT: (True, AccountProblem.UNFUNDED, "ACTIVE"),
        REVIEW_ACCOUNT: (True, AccountProblem.PENDING_REVIEW, "PENDING_RISK_REVIEW"),
        CLOSED_ACCOUNT: (True, AccountProblem.CLOSED, "CLOSED"),
        OTHER_ACCOUNT: (False, AccountProblem.NOT_REACHABLE, None),
    }
    for account, (reachable, reason, status_name) in expected.items():
        status = await manager.preflight(connection_id, account)
        assert (status.reachable, status.can_spend, status.reason, status.status) == (
            reachable,
            False,
            reason,
            status_name,
        ), account
        assert status.detail
    disabled = await manager.preflight(connection_id, DISABLED_ACCOUNT)
    assert disabled.detail and "ADS_INTEGRITY_POLICY" in disabled.detail and disabled.currency == "EUR"

    check = await manager.check(connection_id)
    assert check.token.valid and not check.ok
    assert {a.account_id: a.reason for a in check.accounts}[DISABLED_ACCOUNT] == AccountProblem.DISABLED
    stored = (await manager.get(connection_id)).last_check
    assert stored is not None and stored["ok"] is False and len(stored["accounts"]) == 5


async def test_meta_unfund_fault_makes_the_account_unsettled(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta", connection_id=connection_id
    )
    await sandboxes.fault(
        "meta", {"effect": "unfund", "match": {"method": "GET", "path": "^/v[0-9.]+/act_"}, "count": 1}
    )
    status = await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)
    assert (status.reachable, status.can_spend, status.reason, status.status) == (
        True,
        False,
        AccountProblem.UNFUNDED,
        "UNSETTLED",
    )


async def test_preflight_answers_are_cached_for_the_ttl_and_fresh_bypasses(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta", connection_id=connection_id
    )

    async def account_reads() -> int:
        return len([r for r in await sandboxes.requests("meta") if r["path"].endswith(meta_fx.AD_ACCOUNT_ID)])

    first = await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)
    again = await asyncio.gather(*(manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID) for _ in range(5)))
    assert all(s == first for s in again)
    assert await account_reads() == 1
    await sandboxes.fault(
        "meta", {"effect": "unfund", "match": {"method": "GET", "path": "^/v[0-9.]+/act_"}, "count": 1}
    )
    assert (
        await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)
    ).can_spend  # still the cached answer
    fresh = await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID, fresh=True)
    assert fresh.reason == AccountProblem.UNFUNDED and await account_reads() == 2

    short = ConnectionManager(
        manager.database, sandboxes.settings, cipher=manager.cipher, preflight_ttl_s=0.2
    )
    try:
        await short.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)
        await asyncio.sleep(0.3)
        await short.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)
    finally:
        await short.close()
    assert await account_reads() == 4


async def test_tiktok_unfunded_and_unreachable_advertisers(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    disabled_id = "7300000000000000102"
    await sandboxes.seed(
        "tiktok",
        {
            "advertisers": [{"advertiser_id": disabled_id, "name": "off", "status": "STATUS_DISABLE"}],
            "auth_codes": [
                {
                    "auth_code": f"code-{connection_id}",
                    "app_id": tiktok_fx.APP_ID,
                    "advertiser_ids": [tiktok_fx.ADVERTISER_ID, disabled_id],
                }
            ],
        },
    )
    await manager.connect(
        "tiktok", {"auth_code": f"code-{connection_id}"}, "TikTok", connection_id=connection_id
    )
    assert (await manager.preflight(connection_id, tiktok_fx.ADVERTISER_ID)).can_spend
    off = await manager.preflight(connection_id, disabled_id)
    assert (off.reachable, off.can_spend, off.reason, off.status) == (
        True,
        False,
        AccountProblem.DISABLED,
        "STATUS_DISABLE",
    )
    await sandboxes.fault(
        "tiktok",
        {
            "effect": "unfund",
            "match": {"path": "/advertiser/info/"},
            "params": {"advertiser_id": tiktok_fx.ADVERTISER_ID},
            "count": 1,
        },
    )
    broke = await manager.preflight(connection_id, tiktok_fx.ADVERTISER_ID, fresh=True)
    assert (broke.reachable, broke.can_spend, broke.reason) == (True, False, AccountProblem.UNFUNDED)
    stranger = await manager.preflight(connection_id, "7300000000000000999")
    assert (stranger.reachable, stranger.reason) == (False, AccountProblem.NOT_REACHABLE)


async def test_snapchat_unfunded_account_fails_the_preflight(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    await sandboxes.seed(
        "snapchat",
        {
            "auth_codes": [
                {
                    "code": f"code-{connection_id}",
                    "client_id": snap_fx.DEMO_CLIENT_ID,
                    "redirect_uri": snap_fx.DEMO_REDIRECT_URI,
                    "organization_ids": [snap_fx.DEMO_ORG_ID],
                }
            ]
        },
    )
    await manager.connect("snapchat", {"code": f"code-{connection_id}"}, "Snap", connection_id=connection_id)
    assert (await manager.preflight(connection_id, snap_fx.DEMO_AD_ACCOUNT_ID)).can_spend
    await sandboxes.fault(
        "snapchat", {"effect": "unfund", "match": {"method": "GET", "path": "^/v1/adaccounts/"}, "count": 1}
    )
    status = await manager.preflight(connection_id, snap_fx.DEMO_AD_ACCOUNT_ID, fresh=True)
    assert (status.reachable, status.can_spend, status.reason) == (True, False, AccountProblem.UNFUNDED)
    assert status.detail and "no usable funding source" in status.detail
    listed = [
        r["path"] for r in await sandboxes.requests("snapchat") if r["path"].endswith("/fundingsources")
    ]
    assert listed and listed[0] == f"/v1/organizations/{snap_fx.DEMO_ORG_ID}/fundingsources"
    stranger = await manager.preflight(connection_id, "00000000-0000-4000-8000-000000000000")
    assert (stranger.reachable, stranger.reason) == (False, AccountProblem.NOT_REACHABLE)


async def test_outages_are_not_account_problems(
    manager: ConnectionManager, sandboxes: Sandboxes, connection_id: str
) -> None:
    await manager.connect(
        "meta", {"system_user_token": meta_fx.SYSTEM_USER_TOKEN}, "Meta", connection_id=connection_id
    )
    await sandboxes.fault("meta", {"effect": "transient", "match": {"path": "/act_"}, "count": 1})
    with pytest.raises(PlatformUnavailable):
        await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)
    assert (await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID)).can_spend  # not cached
    with pytest.raises(ConnectionNotFound):
        await manager.preflight("no-such-connection", meta_fx.AD_ACCOUNT_ID)
    with pytest.raises(ConnectionNotFound, match="is a meta connection, not tiktok"):
        await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID, platform=Platform.TIKTOK)
    assert (await manager.preflight(connection_id, meta_fx.AD_ACCOUNT_ID, platform=Platform.META)).can_spend
