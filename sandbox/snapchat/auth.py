"""OAuth2 as Snap runs it, and Bearer authentication of API calls.

`POST /login/oauth2/access_token` (real host accounts.snapchat.com; here on the same server) takes a
form-encoded `grant_type=authorization_code` (code, redirect_uri) or `grant_type=refresh_token`, with
the client credentials in the form or as HTTP Basic. Answer as recorded:
`{"access_token","token_type":"Bearer","expires_in":3600,"refresh_token","scope":"snapchat-marketing-api",
"id_token":""}`. Access tokens live 3600 s (switch `access_token_lifetime_s`). Refresh tokens rotate:
every refresh returns a new one and the presented one stops working (`invalid_grant`, HTTP 400).
Authorization codes are single-use and bound to their client and redirect URI.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from sandbox.common.config import SandboxConfig
from sandbox.common.server import FIELDS
from sandbox.common.store import SandboxObject
from sandbox.snapchat import errors
from sandbox.snapchat.errors import OAuthError, SnapError
from sandbox.snapchat.state import SnapState
from sandbox.snapchat.switches import switch

SCOPE = "snapchat-marketing-api"
TOKEN_PATH = "/login/oauth2/access_token"


def new_access_token() -> str:
    """Opaque, shaped like Snap's JWE tokens (five dot-separated segments, empty second one)."""
    header = base64.urlsafe_b64encode(
        json.dumps({"iss": "https://accounts.snapchat.com/accounts/oauth2/token", "typ": "JWT"}).encode()
    ).rstrip(b"=")
    parts = [secrets.token_urlsafe(16), secrets.token_urlsafe(96), secrets.token_urlsafe(16)]
    return ".".join([header.decode(), "", *parts])


def new_refresh_token() -> str:
    return "sbrt." + secrets.token_urlsafe(48)


def grant_of(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_id": record["client_id"],
        "user_id": record.get("user_id"),
        "organization_ids": list(record.get("organization_ids") or []),
        "ad_account_ids": list(record.get("ad_account_ids") or []),
    }


class Auth:
    def __init__(self, state: SnapState, config: SandboxConfig) -> None:
        self.state = state
        self.config = config

    # ---- issuing ----------------------------------------------------------------------------
    def issue(self, grant: dict[str, Any], now: float, lifetime: int | None = None) -> dict[str, Any]:
        lifetime = int(switch(self.config, "access_token_lifetime_s") if lifetime is None else lifetime)
        access, refresh = new_access_token(), new_refresh_token()
        self.state.tokens[access] = {**grant, "expires_at": now + lifetime, "refresh_token": refresh}
        self.state.refresh_tokens[refresh] = {**grant, "revoked": False, "issued_at": now}
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "refresh_token": refresh,
            "scope": SCOPE,
            "id_token": "",
        }

    # ---- the token endpoint -----------------------------------------------------------------
    async def token_endpoint(self, request: web.Request, now: float) -> tuple[int, dict[str, Any]]:
        try:
            return 200, self._exchange(request, await self._form(request), now)
        except OAuthError as exc:
            return exc.status, exc.body()

    async def _form(self, request: web.Request) -> dict[str, str]:
        if request.content_type != "application/x-www-form-urlencoded":
            raise OAuthError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        fields = request.get(FIELDS)
        if fields is not None:
            return {k: v for k, v in fields.items() if isinstance(v, str) and k not in request.query}
        return dict(parse_qsl((await request.read()).decode()))

    def _client(self, request: web.Request, form: dict[str, str]) -> dict[str, Any]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise OAuthError(401, "invalid_client", "Malformed HTTP Basic credentials") from exc
        if not client_id:
            raise OAuthError(400, "invalid_request", "client_id is required")
        app = self.state.apps.get(client_id)
        if app is None or not secret or not secrets.compare_digest(str(app["client_secret"]), secret):
            raise OAuthError(401, "invalid_client", "Client authentication failed")
        return app

    def _exchange(self, request: web.Request, form: dict[str, str], now: float) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type not in {"authorization_code", "refresh_token"}:
            raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")
        app = self._client(request, form)
        if grant_type == "authorization_code":
            return self._by_code(app, form, now)
        return self._by_refresh(app, form, now)

    def _by_code(self, app: dict[str, Any], form: dict[str, str], now: float) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise OAuthError(400, "invalid_request", "code is required")
        record = self.state.auth_codes.get(code)
        if record is None or record.get("used") or record["client_id"] != app["client_id"]:
            raise OAuthError(400, "invalid_grant", "Invalid authorization code")
        if record.get("expires_at") is not None and record["expires_at"] < now:
            raise OAuthError(400, "invalid_grant", "Authorization code expired")
        expected = record.get("redirect_uri") or app.get("redirect_uri")
        if expected and form.get("redirect_uri") != expected:
            raise OAuthError(400, "invalid_grant", "redirect_uri does not match the authorization request")
        record["used"] = True
        return self.issue(grant_of(record), now)

    def _by_refresh(self, app: dict[str, Any], form: dict[str, str], now: float) -> dict[str, Any]:
        presented = form.get("refresh_token")
        if not presented:
            raise OAuthError(400, "invalid_request", "refresh_token is required")
        record = self.state.refresh_tokens.get(presented)
        if record is None or record["client_id"] != app["client_id"]:
            raise OAuthError(400, "invalid_grant", "Invalid refresh token")
        if record.get("revoked"):
            raise OAuthError(400, "invalid_grant", "Refresh token has been revoked or already used")
        record["revoked"] = True  # rotation: the presented refresh token dies here
        return self.issue(grant_of(record), now)

    # ---- bearer authentication ----------------------------------------------------------------
    def authenticate(self, request: web.Request, now: float) -> dict[str, Any]:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise errors.unauthorized(
                "Missing or malformed Authorization header; use 'Bearer <access_token>'"
            )
        token = value.strip()
        record = self.state.tokens.get(token)
        if record is None:
            raise errors.unauthorized("Invalid access token")
        if record["expires_at"] <= now:
            raise errors.unauthorized("The access token has expired")
        return {**record, "access_token": token}

    # ---- access -------------------------------------------------------------------------------
    @staticmethod
    def may_see_org(grant: dict[str, Any], org_id: str) -> bool:
        return org_id in grant.get("organization_ids", [])

    @staticmethod
    def may_see_account(grant: dict[str, Any], account: SandboxObject) -> bool:
        return account.id in grant.get("ad_account_ids", []) or (account.parent_id or "") in grant.get(
            "organization_ids", []
        )

    def require_account(self, grant: dict[str, Any], account: SandboxObject) -> None:
        if not self.may_see_account(grant, account):
            raise SnapError(
                403, errors.E_FORBIDDEN, f"No permission to access ad account {account.id}", "Forbidden"
            )

    def require_org(self, grant: dict[str, Any], org_id: str) -> None:
        if not self.may_see_org(grant, org_id):
            raise SnapError(
                403, errors.E_FORBIDDEN, f"No permission to access organization {org_id}", "Forbidden"
            )
