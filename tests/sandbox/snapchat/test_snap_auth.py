"""OAuth2 as Snap runs it (single-use codes, 1-hour tokens, refresh-token rotation) and Bearer auth."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from sandbox.snapchat import fixtures as fx

from .support import ACCOUNT, Snap

TOKEN = "/login/oauth2/access_token"


async def exchange(snap: Snap, **form: str) -> httpx.Response:
    return await snap.http.post(TOKEN, data=form)


async def by_code(snap: Snap, code: str = fx.DEMO_AUTH_CODE, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": fx.DEMO_CLIENT_ID,
        "client_secret": fx.DEMO_CLIENT_SECRET,
        "code": code,
        "redirect_uri": fx.DEMO_REDIRECT_URI,
    }
    form.update(extra)
    return await exchange(snap, **form)


async def by_refresh(snap: Snap, refresh: str) -> httpx.Response:
    return await exchange(
        snap,
        grant_type="refresh_token",
        client_id=fx.DEMO_CLIENT_ID,
        client_secret=fx.DEMO_CLIENT_SECRET,
        refresh_token=refresh,
    )


def assert_token_shape(body: dict[str, Any]) -> None:
    assert list(body) == ["access_token", "token_type", "expires_in", "refresh_token", "scope", "id_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "snapchat-marketing-api"
    assert body["id_token"] == ""


async def test_authorization_code_gives_working_tokens_and_is_single_use(snap: Snap) -> None:
    first = await by_code(snap)
    assert first.status_code == 200, first.text
    body = first.json()
    assert_token_shape(body)
    me = await snap.get("/v1/me", token=body["access_token"])
    assert me.status_code == 200
    assert me.json()["me"]["id"] == fx.DEMO_USER_ID

    again = await by_code(snap)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert set(again.json()) == {"error", "error_description"}


async def test_code_requires_the_registered_redirect_uri_and_client(snap: Snap) -> None:
    wrong_redirect = await by_code(snap, redirect_uri="https://evil.example/cb")
    assert (wrong_redirect.status_code, wrong_redirect.json()["error"]) == (400, "invalid_grant")
    unknown = await by_code(snap, code="no-such-code")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_grant")
    bad_secret = await by_code(snap, client_secret="wrong")
    assert (bad_secret.status_code, bad_secret.json()["error"]) == (401, "invalid_client")
    assert (await by_code(snap)).status_code == 200  # the failed attempts did not burn the code


async def test_expired_authorization_code_is_refused(snap: Snap) -> None:
    await snap.seed(
        {
            "auth_codes": [
                {
                    "code": "old-code",
                    "client_id": fx.DEMO_CLIENT_ID,
                    "redirect_uri": fx.DEMO_REDIRECT_URI,
                    "organization_ids": [fx.DEMO_ORG_ID],
                    "expires_in": -1,
                }
            ]
        }
    )
    r = await by_code(snap, code="old-code")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")


async def test_refresh_rotates_and_the_old_refresh_token_dies(snap: Snap) -> None:
    first = await by_refresh(snap, fx.DEMO_REFRESH_TOKEN)
    assert first.status_code == 200, first.text
    body = first.json()
    assert_token_shape(body)
    assert body["refresh_token"] != fx.DEMO_REFRESH_TOKEN
    assert body["access_token"] != fx.DEMO_ACCESS_TOKEN

    reuse = await by_refresh(snap, fx.DEMO_REFRESH_TOKEN)
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"

    second = await by_refresh(snap, body["refresh_token"])
    assert second.status_code == 200
    assert (
        await snap.get(f"/v1/adaccounts/{ACCOUNT}", token=second.json()["access_token"])
    ).status_code == 200


async def test_refresh_calls_are_counted_in_the_request_log(snap: Snap) -> None:
    await by_refresh(snap, fx.DEMO_REFRESH_TOKEN)
    await snap.get("/v1/me")
    log = await snap.requests_log()
    refreshes = [e for e in log if e["path"] == TOKEN and e["body"].get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    assert refreshes[0]["status"] == 200


async def test_token_endpoint_errors(snap: Snap) -> None:
    unsupported = await exchange(snap, grant_type="password", client_id=fx.DEMO_CLIENT_ID, client_secret="x")
    assert (unsupported.status_code, unsupported.json()["error"]) == (400, "unsupported_grant_type")
    missing = await exchange(snap, client_id=fx.DEMO_CLIENT_ID)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    as_json = await snap.http.post(TOKEN, json={"grant_type": "refresh_token"})
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    unknown_client = await exchange(
        snap, grant_type="refresh_token", client_id="nobody", client_secret="x", refresh_token="y"
    )
    assert (unknown_client.status_code, unknown_client.json()["error"]) == (401, "invalid_client")


async def test_client_credentials_may_come_as_http_basic(snap: Snap) -> None:
    r = await snap.http.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": fx.DEMO_REFRESH_TOKEN},
        auth=(fx.DEMO_CLIENT_ID, fx.DEMO_CLIENT_SECRET),
    )
    assert r.status_code == 200, r.text


async def test_access_token_expires_after_its_lifetime(snap: Snap) -> None:
    await snap.switches(access_token_lifetime_s=1)
    body = (await by_refresh(snap, fx.DEMO_REFRESH_TOKEN)).json()
    assert body["expires_in"] == 1
    assert (await snap.get("/v1/me", token=body["access_token"])).status_code == 200
    await asyncio.sleep(1.1)
    expired = await snap.get("/v1/me", token=body["access_token"])
    assert expired.status_code == 401
    assert expired.json()["request_status"] == "ERROR"
    fresh = await by_refresh(snap, body["refresh_token"])
    assert (await snap.get("/v1/me", token=fresh.json()["access_token"])).status_code == 200


async def test_missing_invalid_and_expired_bearer_tokens_get_401_in_snap_envelope(snap: Snap) -> None:
    await snap.seed(
        {
            "tokens": [
                {
                    "access_token": "expired-one",
                    "client_id": fx.DEMO_CLIENT_ID,
                    "expires_in": -5,
                    "organization_ids": [fx.DEMO_ORG_ID],
                }
            ]
        }
    )
    no_header = await snap.http.get(f"/v1/adaccounts/{ACCOUNT}")
    wrong_scheme = await snap.http.get(f"/v1/adaccounts/{ACCOUNT}", headers={"Authorization": "Token abc"})
    unknown = await snap.get(f"/v1/adaccounts/{ACCOUNT}", token="not-a-token")
    expired = await snap.get(f"/v1/adaccounts/{ACCOUNT}", token="expired-one")
    for r in (no_header, wrong_scheme, unknown, expired):
        assert r.status_code == 401
        body = r.json()
        assert set(body) == {"request_status", "request_id", "debug_message", "display_message", "error_code"}
        assert body["request_status"] == "ERROR"
        assert r.headers["X-Request-Id"] == body["request_id"]
    assert "expired" in expired.json()["debug_message"]


async def test_no_access_to_another_organizations_account_is_403(snap: Snap) -> None:
    await snap.seed(
        {
            "organizations": [{"id": "b1b2b3b4-0000-4000-8000-000000000001", "name": "Other Org"}],
            "funding_sources": [
                {
                    "id": "b1b2b3b4-0000-4000-8000-000000000002",
                    "organization_id": "b1b2b3b4-0000-4000-8000-000000000001",
                }
            ],
            "ad_accounts": [
                {
                    "id": "b1b2b3b4-0000-4000-8000-000000000003",
                    "name": "Not yours",
                    "organization_id": "b1b2b3b4-0000-4000-8000-000000000001",
                    "currency": "EUR",
                    "timezone": "Europe/Berlin",
                    "funding_source_ids": ["b1b2b3b4-0000-4000-8000-000000000002"],
                }
            ],
        }
    )
    r = await snap.get("/v1/adaccounts/b1b2b3b4-0000-4000-8000-000000000003")
    assert r.status_code == 403
    assert r.json()["request_status"] == "ERROR"
    write = await snap.post(
        "/v1/adaccounts/b1b2b3b4-0000-4000-8000-000000000003/campaigns", {"campaigns": [{}]}
    )
    assert write.status_code == 403
    org = await snap.get("/v1/organizations/b1b2b3b4-0000-4000-8000-000000000001")
    assert org.status_code == 403
    missing = await snap.get("/v1/adaccounts/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "E3004"


async def test_faults_on_the_token_endpoint_answer_in_oauth_shape(snap: Snap) -> None:
    await snap.fault(effect="transient", path="^/login/oauth2/access_token$", count=1)
    failed = await by_refresh(snap, fx.DEMO_REFRESH_TOKEN)
    assert failed.status_code == 503
    assert failed.json()["error"] == "temporarily_unavailable"
    retried = await by_refresh(snap, fx.DEMO_REFRESH_TOKEN)
    assert retried.status_code == 200  # the failed call did not rotate the refresh token
    await snap.fault(effect="invalid_token", path="^/login/oauth2/access_token$", count=1)
    refused = await by_refresh(snap, retried.json()["refresh_token"])
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
