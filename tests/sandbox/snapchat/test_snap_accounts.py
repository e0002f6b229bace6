"""/v1/me, organizations, funding sources and ad accounts."""

from __future__ import annotations

from sandbox.snapchat import fixtures as fx

from .support import ACCOUNT, Snap, entity


async def test_me(snap: Snap) -> None:
    r = await snap.get("/v1/me")
    assert r.status_code == 200
    body = r.json()
    assert body["request_status"] == "SUCCESS"
    assert body["me"]["id"] == fx.DEMO_USER_ID
    assert body["me"]["organization_id"] == fx.DEMO_ORG_ID


async def test_my_organizations_with_and_without_ad_accounts(snap: Snap) -> None:
    plain = (await snap.get("/v1/me/organizations")).json()
    assert list(plain) == ["request_status", "request_id", "organizations"]
    org = entity(plain, "organizations")
    assert org["id"] == fx.DEMO_ORG_ID
    assert org["roles"] == ["admin", "member"]
    assert "ad_accounts" not in org

    with_accounts = entity(
        (await snap.get("/v1/me/organizations", with_ad_accounts="true")).json(), "organizations"
    )
    [account] = with_accounts["ad_accounts"]
    assert account["id"] == ACCOUNT
    assert account["currency"] == "USD"
    assert account["timezone"] == "America/Los_Angeles"


async def test_organization_and_its_ad_accounts_and_funding_sources(snap: Snap) -> None:
    org = entity((await snap.get(f"/v1/organizations/{fx.DEMO_ORG_ID}")).json(), "organizations")
    assert org["name"] == "adrelay Demo Org"
    assert "roles" not in org  # the caller-specific keys belong to /me/organizations only

    accounts = (await snap.get(f"/v1/organizations/{fx.DEMO_ORG_ID}/adaccounts")).json()
    assert [a["adaccount"]["id"] for a in accounts["adaccounts"]] == [ACCOUNT]

    sources = (await snap.get(f"/v1/organizations/{fx.DEMO_ORG_ID}/fundingsources")).json()
    assert list(sources) == ["request_status", "request_id", "fundingsources"]
    source = entity(sources, "fundingsources")
    assert source["id"] == fx.DEMO_FUNDING_SOURCE_ID
    assert source["status"] == "ACTIVE"
    assert isinstance(source["available_credit_micro"], int)
    single = entity(
        (await snap.get(f"/v1/fundingsources/{fx.DEMO_FUNDING_SOURCE_ID}")).json(), "fundingsources"
    )
    assert single == source
    assert (await snap.get("/v1/fundingsources/00000000-0000-4000-8000-00000000000f")).status_code == 404


async def test_ad_account_fields(snap: Snap) -> None:
    r = await snap.get(f"/v1/adaccounts/{ACCOUNT}")
    assert r.status_code == 200
    account = entity(r.json(), "adaccounts")
    for key in (
        "id",
        "updated_at",
        "created_at",
        "name",
        "type",
        "status",
        "organization_id",
        "funding_source_ids",
        "currency",
        "timezone",
        "advertiser",
        "billing_type",
    ):
        assert key in account, key
    assert account["status"] == "ACTIVE"
    assert account["funding_source_ids"] == [fx.DEMO_FUNDING_SOURCE_ID]
    assert not any(k.startswith("_") for k in account)
    assert account["created_at"].endswith("Z") and len(account["created_at"]) == 24


async def test_unknown_paths_answer_in_snap_envelope(snap: Snap) -> None:
    r = await snap.get("/v1/nonsense/123")
    assert r.status_code == 404
    assert r.json()["request_status"] == "ERROR"
