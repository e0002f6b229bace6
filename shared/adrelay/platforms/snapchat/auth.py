"""Snapchat connections against the real OAuth2 and Marketing API: authorization code, refresh, token
check, ad-account and funding-source pre-flight.

Access tokens live an hour; every refresh returns a NEW refresh token and kills the one presented, so
the caller must store both from each grant (the connections module does, under a row lock). A refused
refresh (`invalid_grant`) means a person must authorize again; a 401 on an API call only means the
access token expired, which a refresh fixes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adrelay.connections.reasons import AccountProblem
from adrelay.events.payloads import ErrorCategory
from adrelay.model import Platform
from adrelay.observability.logging import redact, register_secret
from adrelay.platforms.auth import AccountStatus, PlatformAuth, ReauthNeeded, TokenGrant, TokenInfo
from adrelay.platforms.errors import PlatformCallError
from adrelay.platforms.http import Limiter, PlatformHttp
from adrelay.platforms.settings import PlatformSettings

TOKEN_PATH = "/login/oauth2/access_token"
ACCOUNT_PROBLEMS = {"PAUSED": AccountProblem.PAUSED, "DISABLED": AccountProblem.DISABLED}


class SnapchatAuth(PlatformAuth):
    platform = Platform.SNAPCHAT

    def __init__(self, settings: PlatformSettings, limiter: Limiter) -> None:
        self.settings = settings.snapchat
        register_secret(self.settings.client_secret)
        self.accounts = PlatformHttp(
            Platform.SNAPCHAT, self.settings.accounts_url, timeout_s=settings.http_timeout_s, limiter=limiter
        )
        self.api = PlatformHttp(
            Platform.SNAPCHAT, self.settings.api_url, timeout_s=settings.http_timeout_s, limiter=limiter
        )

    # ---- OAuth -------------------------------------------------------------------------------
    async def connect(self, credentials: dict[str, str]) -> TokenGrant:
        """{"code"} (+ optional "redirect_uri", default the configured one), or {"refresh_token"} (a
        grant obtained elsewhere; it is spent here and replaced by the new one)."""
        if credentials.get("code"):
            register_secret(credentials["code"])
            form = {
                "grant_type": "authorization_code",
                "code": credentials["code"],
                "redirect_uri": credentials.get("redirect_uri") or self.settings.redirect_uri,
            }
            grant = await self._token(form)
        elif credentials.get("refresh_token"):
            grant = await self.refresh(credentials["refresh_token"])
        else:
            raise PlatformCallError.of(ErrorCategory.VALIDATION, "Snapchat needs code or refresh_token")
        accounts = await self._ad_accounts(grant.access_token)
        return replace(grant, account_ids=accounts)

    async def refresh(self, refresh_token: str) -> TokenGrant:
        register_secret(refresh_token)
        return await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def _token(self, form: dict[str, str]) -> TokenGrant:
        form = {**form, "client_id": self.settings.client_id, "client_secret": self.settings.client_secret}
        # A write: a refresh sent without an answer may already have rotated the refresh token.
        response = await self.accounts.request(
            "POST", TOKEN_PATH, endpoint="oauth2/access_token", write=True, data=form
        )
        body = _json(response)
        if response.status_code != 200 or not body.get("access_token"):
            raise _oauth_error(response, body)
        access, refresh = str(body["access_token"]), str(body.get("refresh_token") or "")
        register_secret(access)
        register_secret(refresh)
        now = datetime.now(UTC)
        expires_in = int(body.get("expires_in") or 3600)
        return TokenGrant(
            access_token=access,
            refresh_token=refresh or None,
            expires_at=now + timedelta(seconds=expires_in),
            scopes=str(body.get("scope") or "").split(),
            token_type=str(body.get("token_type") or "Bearer").lower(),
            extra={"app_id": self.settings.client_id},
        )

    # ---- inspect -----------------------------------------------------------------------------
    async def inspect(self, access_token: str) -> TokenInfo:
        """Snap has no introspection endpoint: the token is valid when the API accepts it."""
        try:
            accounts = await self._ad_accounts(access_token)
        except PlatformCallError as exc:
            if exc.category is ErrorCategory.AUTH:
                return TokenInfo(valid=False, reason=exc.error.message)
            raise
        return TokenInfo(valid=True, account_ids=accounts)

    async def _ad_accounts(self, token: str) -> list[str]:
        body = await self._get(
            token, "/v1/me/organizations", "me/organizations", {"with_ad_accounts": "true"}
        )
        accounts: set[str] = set()
        for item in body.get("organizations") or []:
            org = item.get("organization") or {}
            accounts.update(str(a["id"]) for a in org.get("ad_accounts") or [] if a.get("id"))
        return sorted(accounts)

    # ---- pre-flight ----------------------------------------------------------------------------
    async def account_status(self, access_token: str, account_id: str) -> AccountStatus:
        try:
            body = await self._get(access_token, f"/v1/adaccounts/{account_id}", "adaccounts/get")
        except PlatformCallError as exc:
            if exc.http_status in (403, 404):
                return AccountStatus(
                    account_id=account_id,
                    reachable=False,
                    can_spend=False,
                    reason=AccountProblem.NOT_REACHABLE,
                    detail=exc.error.message,
                )
            raise
        account = _first(body, "adaccounts", "adaccount")
        state = str(account.get("status") or "")
        status = AccountStatus(
            account_id=account_id,
            reachable=True,
            can_spend=False,
            currency=account.get("currency"),
            timezone=account.get("timezone"),
            status=state,
        )
        funded, funding_detail = await self._funding(access_token, account)
        if state not in ("ACTIVE", "PAUSED"):
            problem = ACCOUNT_PROBLEMS.get(state, AccountProblem.UNKNOWN_STATUS)
            return replace(status, reason=problem, detail=f"ad account status {state or 'missing'}")
        if not funded:
            return replace(status, reason=AccountProblem.UNFUNDED, detail=funding_detail)
        if state == "PAUSED":
            return replace(status, reason=AccountProblem.PAUSED, detail="ad account status PAUSED")
        return replace(status, can_spend=True, detail=funding_detail)

    async def _funding(self, token: str, account: dict[str, Any]) -> tuple[bool, str]:
        """At least one of the account's funding sources ACTIVE, with credit left where it carries a
        credit figure. Funding sources the token may not see are not held against the account."""
        wanted = [str(i) for i in account.get("funding_source_ids") or []]
        if not wanted:
            return False, "the ad account has no funding source"
        sources = await self._funding_sources(token, str(account.get("organization_id") or ""), wanted)
        if not sources:
            return True, "funding not verified: the token cannot see the account's funding sources"
        seen = []
        for source in sources:
            state = str(source.get("status") or "")
            credit = source.get("available_credit_micro")
            if state == "ACTIVE" and (credit is None or int(credit) > 0):
                return True, f"funding source {source.get('id')} ({source.get('type')}) active"
            seen.append(
                f"{source.get('id')}: {source.get('type')} {state}"
                + (f", credit {credit}" if credit is not None else "")
            )
        return False, "no usable funding source (" + "; ".join(seen) + ")"

    async def _funding_sources(self, token: str, org_id: str, wanted: list[str]) -> list[dict[str, Any]]:
        """The organization's list (as recorded) filtered to the account's; one by one if the token
        cannot list the organization's."""
        if org_id:
            try:
                body = await self._get(
                    token, f"/v1/organizations/{org_id}/fundingsources", "fundingsources/list"
                )
                listed = [dict(i.get("fundingsource") or {}) for i in body.get("fundingsources") or []]
                return [f for f in listed if str(f.get("id")) in wanted]
            except PlatformCallError as exc:
                if exc.http_status not in (403, 404):
                    raise
        found = []
        for source_id in wanted:
            try:
                body = await self._get(token, f"/v1/fundingsources/{source_id}", "fundingsources/get")
            except PlatformCallError as exc:
                if exc.http_status in (403, 404):
                    continue
                raise
            found.append(_first(body, "fundingsources", "fundingsource"))
        return found

    # ---- transport -------------------------------------------------------------------------------
    async def _get(
        self, token: str, path: str, endpoint: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = await self.api.request(
            "GET",
            path,
            endpoint=endpoint,
            write=False,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        )
        body = _json(response)
        if response.status_code >= 400 or str(body.get("request_status", "")).upper() == "ERROR":
            raise _api_error(response, body)
        return body

    async def close(self) -> None:
        await self.accounts.close()
        await self.api.close()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _first(body: dict[str, Any], plural: str, singular: str) -> dict[str, Any]:
    items = body.get(plural) or []
    return dict((items[0] or {}).get(singular) or {}) if items else {}


def _oauth_error(response: httpx.Response, body: dict[str, Any]) -> Exception:
    """RFC 6749 errors: invalid_grant (code or refresh token dead) needs a person; invalid_client is
    adrelay's own configuration; 5xx is transient."""
    error = str(body.get("error") or "")
    description = redact(str(body.get("error_description") or f"HTTP {response.status_code}"))
    text = f"Snapchat OAuth {error or 'error'}: {description}"
    status = response.status_code
    if error == "invalid_grant":
        return ReauthNeeded(text)
    if status >= 500 or status == 429:
        category = ErrorCategory.TRANSIENT if status >= 500 else ErrorCategory.RATE_LIMIT
        return PlatformCallError.of(category, text, http_status=status)
    if error in ("invalid_client", "unauthorized_client"):
        return PlatformCallError.of(ErrorCategory.AUTH, text, platform_code=error, http_status=status)
    return PlatformCallError.of(
        ErrorCategory.VALIDATION, text, platform_code=error or None, http_status=status
    )


def _api_error(response: httpx.Response, body: dict[str, Any]) -> PlatformCallError:
    status = response.status_code
    message = redact(str(body.get("debug_message") or body.get("display_message") or f"HTTP {status}"))
    code = body.get("error_code")
    text = f"Snapchat {status}" + (f" {code}" if code else "") + f": {message}"
    fields: dict[str, Any] = {
        "platform_code": code,
        "trace_id": body.get("request_id"),
        "http_status": status,
    }
    if status == 401:
        return PlatformCallError.of(ErrorCategory.AUTH, text, **fields)
    if status == 403:
        return PlatformCallError.of(ErrorCategory.PERMISSION, text, **fields)
    if status == 429:
        return PlatformCallError.of(ErrorCategory.RATE_LIMIT, text, **fields)
    if status >= 500:
        return PlatformCallError.of(ErrorCategory.TRANSIENT, text, **fields)
    return PlatformCallError.of(ErrorCategory.VALIDATION, text, **fields)
