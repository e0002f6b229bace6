"""TikTok connections against the real API for Business v1.3: auth_code exchange, token check,
advertiser pre-flight.

Marketing API advertiser tokens are long-term and have no refresh flow: once the advertiser revokes
the authorization (40105) or the token expires (40102) only a person can authorize again. Errors come
back as HTTP 200 with a non-zero `code` in the envelope; the token goes in the `Access-Token` header.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from adrelay.connections.reasons import AccountProblem
from adrelay.events.payloads import ErrorCategory
from adrelay.model import Platform
from adrelay.observability.logging import redact, register_secret
from adrelay.platforms.auth import AccountStatus, PlatformAuth, ReauthNeeded, TokenGrant, TokenInfo
from adrelay.platforms.errors import PlatformCallError
from adrelay.platforms.http import Limiter, PlatformHttp
from adrelay.platforms.settings import PlatformSettings

PREFIX = "/open_api/v1.3"
# Token dead or never valid (expired, invalid, refresh-token family, auth_code invalid/used/expired).
REAUTH_CODES = frozenset({40102, 40103, 40105, 40107, 40110})
APP_CREDENTIAL_CODES = frozenset({40101, 40115})  # app_id/secret wrong: adrelay's configuration
NOT_REACHABLE_CODES = frozenset({40001, 40106, 40119, 40300, 40301, 40007})
THROTTLE_CODES = frozenset({40016, 40100, 40133})
ADVERTISER_FIELDS = ["advertiser_id", "name", "status", "currency", "timezone", "display_timezone", "balance"]
STATUS_PROBLEMS = {
    "STATUS_DISABLE": AccountProblem.DISABLED,
    "STATUS_PENDING_CONFIRM": AccountProblem.PENDING_REVIEW,
    "STATUS_PENDING_VERIFIED": AccountProblem.PENDING_REVIEW,
    "STATUS_WAIT_FOR_BPM_AUDIT": AccountProblem.PENDING_REVIEW,
    "STATUS_WAIT_FOR_PUBLIC_AUTH": AccountProblem.PENDING_REVIEW,
    "STATUS_SELF_SERVICE_UNAUDITED": AccountProblem.PENDING_REVIEW,
    "STATUS_CONTRACT_PENDING": AccountProblem.PENDING_REVIEW,
    "STATUS_CONFIRM_FAIL": AccountProblem.REJECTED,
    "STATUS_CONFIRM_FAIL_END": AccountProblem.REJECTED,
    "STATUS_CONFIRM_MODIFY_FAIL": AccountProblem.REJECTED,
    "STATUS_LIMIT": AccountProblem.LIMITED,
}


class TikTokAuth(PlatformAuth):
    platform = Platform.TIKTOK

    def __init__(self, settings: PlatformSettings, limiter: Limiter) -> None:
        self.settings = settings.tiktok
        register_secret(self.settings.app_secret)
        self.http = PlatformHttp(
            Platform.TIKTOK, self.settings.api_url, timeout_s=settings.http_timeout_s, limiter=limiter
        )

    async def connect(self, credentials: dict[str, str]) -> TokenGrant:
        """{"auth_code"} (the redirect's one-hour, single-use code), or {"access_token"} (a long-term
        token obtained elsewhere, taken as it is)."""
        if credentials.get("auth_code"):
            register_secret(credentials["auth_code"])
            data = await self._call(
                "POST",
                "/oauth2/access_token/",
                write=True,
                json={
                    "app_id": self.settings.app_id,
                    "secret": self.settings.app_secret,
                    "auth_code": credentials["auth_code"],
                },
            )
            token = str(data.get("access_token") or "")
            if not token:
                raise PlatformCallError.of(
                    ErrorCategory.UNKNOWN, "TikTok answered the auth_code without a token"
                )
            register_secret(token)
            advertisers = [str(a) for a in data.get("advertiser_ids") or []]
            scopes = [str(s) for s in data.get("scope") or []]
        elif credentials.get("access_token"):
            token = credentials["access_token"]
            register_secret(token)
            info = await self.inspect(token)
            if not info.valid:
                raise ReauthNeeded(f"TikTok token is not valid: {info.reason}")
            advertisers, scopes = info.account_ids, []
        else:
            raise PlatformCallError.of(ErrorCategory.VALIDATION, "TikTok needs auth_code or access_token")
        if not advertisers:
            raise PlatformCallError.of(
                ErrorCategory.PERMISSION, "the TikTok authorization covers no advertiser account"
            )
        return TokenGrant(
            access_token=token,
            scopes=scopes,
            account_ids=sorted(advertisers),
            token_type="long_term",
            extra={"app_id": self.settings.app_id},
        )

    async def inspect(self, access_token: str) -> TokenInfo:
        """TikTok has no introspection endpoint: the advertisers the token lists tell validity."""
        try:
            data = await self._call(
                "GET",
                "/oauth2/advertiser/get/",
                write=False,
                token=access_token,
                params={"app_id": self.settings.app_id, "secret": self.settings.app_secret},
            )
        except ReauthNeeded as exc:
            return TokenInfo(valid=False, reason=str(exc))
        accounts = [str(row["advertiser_id"]) for row in data.get("list") or [] if row.get("advertiser_id")]
        return TokenInfo(valid=True, account_ids=sorted(accounts))

    async def account_status(self, access_token: str, account_id: str) -> AccountStatus:
        try:
            data = await self._call(
                "GET",
                "/advertiser/info/",
                write=False,
                token=access_token,
                params={
                    "advertiser_ids": json.dumps([str(account_id)]),
                    "fields": json.dumps(ADVERTISER_FIELDS),
                },
            )
        except PlatformCallError as exc:
            if exc.error.platform_code and int(exc.error.platform_code) in NOT_REACHABLE_CODES:
                return AccountStatus(
                    account_id=str(account_id),
                    reachable=False,
                    can_spend=False,
                    reason=AccountProblem.NOT_REACHABLE,
                    detail=exc.error.message,
                )
            raise
        rows = [r for r in data.get("list") or [] if str(r.get("advertiser_id")) == str(account_id)]
        if not rows:
            return AccountStatus(
                account_id=str(account_id),
                reachable=False,
                can_spend=False,
                reason=AccountProblem.NOT_REACHABLE,
                detail="TikTok returned no such advertiser for this token",
            )
        row = rows[0]
        status_value = str(row.get("status") or "")
        status = AccountStatus(
            account_id=str(account_id),
            reachable=True,
            can_spend=False,
            currency=row.get("currency"),
            timezone=row.get("display_timezone") or row.get("timezone"),
            status=status_value,
        )
        if status_value != "STATUS_ENABLE":
            problem = STATUS_PROBLEMS.get(status_value, AccountProblem.UNKNOWN_STATUS)
            return replace(status, reason=problem, detail=f"advertiser status {status_value}")
        balance = _decimal(row.get("balance"))
        if balance is not None and balance <= 0:
            return replace(status, reason=AccountProblem.UNFUNDED, detail=f"advertiser balance {balance}")
        return replace(status, can_spend=True)

    async def _call(
        self, method: str, path: str, *, write: bool, token: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"Access-Token": token} if token else None
        response = await self.http.request(
            method, PREFIX + path, endpoint=path.strip("/"), write=write, headers=headers, **kwargs
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or response.status_code >= 400:
            category = ErrorCategory.TRANSIENT if response.status_code >= 500 else ErrorCategory.UNKNOWN
            raise PlatformCallError.of(
                category, f"TikTok {path}: HTTP {response.status_code}", http_status=response.status_code
            )
        code = int(body.get("code") or 0)
        if code == 0:
            data = body.get("data")
            return data if isinstance(data, dict) else {}
        raise _classify(code, body)

    async def close(self) -> None:
        await self.http.close()


def _classify(code: int, body: dict[str, Any]) -> Exception:
    message = redact(str(body.get("message") or "error"))
    text = f"TikTok error {code}: {message}"
    fields: dict[str, Any] = {"platform_code": str(code), "trace_id": body.get("request_id")}
    if code in REAUTH_CODES:
        return ReauthNeeded(text)
    if code in APP_CREDENTIAL_CODES:
        return PlatformCallError.of(ErrorCategory.AUTH, text, **fields)
    if code in THROTTLE_CODES:
        return PlatformCallError.of(ErrorCategory.RATE_LIMIT, text, **fields)
    if code >= 50000 or code == 40202:
        return PlatformCallError.of(ErrorCategory.TRANSIENT, text, **fields)
    if code in NOT_REACHABLE_CODES:
        return PlatformCallError.of(ErrorCategory.PERMISSION, text, **fields)
    return PlatformCallError.of(ErrorCategory.VALIDATION, text, **fields)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
