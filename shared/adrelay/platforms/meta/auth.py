"""Meta connections against the real Graph API: token exchange, debug_token, ad-account pre-flight.

Meta has no refresh token: a short-lived user token is exchanged once for a ~60-day one, a system-user
token is taken as it is (often non-expiring), and a token that is invalid or expired can only be
replaced by a person (`ReauthNeeded`). Tokens travel in query parameters here because that is what the
reference confirms for these endpoints; the service log configuration and its redaction keep them out
of log lines.
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

REQUIRED_SCOPE = "ads_management"
# Graph's token errors (190 and its subcodes, 102 session invalid): only a person can fix them.
AUTH_CODES = frozenset({102, 190})
AUTH_SUBCODES = frozenset({458, 459, 460, 463, 464, 467})
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
ACCOUNT_FIELDS = (
    "account_id,name,account_status,disable_reason,currency,timezone_name,funding_source,min_daily_budget"
)
# account_status ([O] several client codebases; the reference confirms the field, not the values).
STATUS_NAMES = {
    1: "ACTIVE",
    2: "DISABLED",
    3: "UNSETTLED",
    7: "PENDING_RISK_REVIEW",
    8: "PENDING_SETTLEMENT",
    9: "IN_GRACE_PERIOD",
    100: "PENDING_CLOSURE",
    101: "CLOSED",
    201: "ANY_ACTIVE",
    202: "ANY_CLOSED",
}
STATUS_PROBLEMS = {
    2: AccountProblem.DISABLED,
    3: AccountProblem.UNFUNDED,
    7: AccountProblem.PENDING_REVIEW,
    8: AccountProblem.PENDING_SETTLEMENT,
    100: AccountProblem.CLOSED,
    101: AccountProblem.CLOSED,
    202: AccountProblem.CLOSED,
}
DISABLE_REASONS = {
    0: "NONE",
    1: "ADS_INTEGRITY_POLICY",
    2: "ADS_IP_REVIEW",
    3: "RISK_PAYMENT",
    4: "GRAY_ACCOUNT_SHUT_DOWN",
    5: "ADS_AFC_REVIEW",
    6: "BUSINESS_INTEGRITY_RAR",
    7: "PERMANENT_CLOSE",
    8: "UNUSED_RESELLER_ACCOUNT",
    9: "UNUSED_ACCOUNT",
}


def account_path_id(account_id: str) -> str:
    """`act_<n>` whichever form the caller used."""
    text = str(account_id).strip()
    return text if text.startswith("act_") else f"act_{text}"


class MetaAuth(PlatformAuth):
    platform = Platform.META

    def __init__(self, settings: PlatformSettings, limiter: Limiter) -> None:
        self.settings = settings.meta
        self.version = self.settings.api_version
        register_secret(self.settings.app_secret)
        self.http = PlatformHttp(
            Platform.META, self.settings.graph_url, timeout_s=settings.http_timeout_s, limiter=limiter
        )

    @property
    def _app_token(self) -> str:
        if not self.settings.app_id or not self.settings.app_secret:
            raise PlatformCallError.of(
                ErrorCategory.AUTH, "Meta app credentials are not configured (ADRELAY_META_APP_ID/_SECRET)"
            )
        return f"{self.settings.app_id}|{self.settings.app_secret}"

    # ---- connect ---------------------------------------------------------------------------
    async def connect(self, credentials: dict[str, str]) -> TokenGrant:
        if credentials.get("short_lived_token"):
            token, expires_in = await self._exchange(credentials["short_lived_token"])
        elif credentials.get("system_user_token") or credentials.get("long_lived_token"):
            token = credentials.get("system_user_token") or credentials["long_lived_token"]
            register_secret(token)
            expires_in = None
        else:
            raise PlatformCallError.of(
                ErrorCategory.VALIDATION, "Meta needs short_lived_token or system_user_token"
            )
        data = await self._debug(token)
        info = self._token_info(data)
        if not info.valid:
            raise ReauthNeeded(f"Meta token is not valid: {info.reason or 'debug_token says so'}")
        if str(data.get("app_id") or "") not in ("", self.settings.app_id):
            raise PlatformCallError.of(
                ErrorCategory.PERMISSION,
                f"the Meta token was issued to app {data.get('app_id')}, not to adrelay's app {self.settings.app_id}",
            )
        if REQUIRED_SCOPE not in info.scopes:
            raise PlatformCallError.of(
                ErrorCategory.PERMISSION,
                f"the Meta token lacks the {REQUIRED_SCOPE} permission (has: {', '.join(info.scopes) or 'none'})",
            )
        expires_at = info.expires_at
        if expires_at is None and expires_in:
            expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        return TokenGrant(
            access_token=token,
            expires_at=expires_at,
            scopes=info.scopes,
            account_ids=await self._ad_accounts(token),
            token_type=str(data.get("type") or "USER").lower(),
            extra={"app_id": self.settings.app_id, "user_id": str(data.get("user_id") or "")},
        )

    async def _exchange(self, short_lived: str) -> tuple[str, int | None]:
        register_secret(short_lived)
        body = await self._get(
            f"/{self.version}/oauth/access_token",
            "oauth/access_token",
            {
                "grant_type": "fb_exchange_token",
                "client_id": self.settings.app_id,
                "client_secret": self.settings.app_secret,
                "fb_exchange_token": short_lived,
            },
        )
        token = str(body.get("access_token") or "")
        if not token:
            raise PlatformCallError.of(ErrorCategory.UNKNOWN, "Meta token exchange answered without a token")
        register_secret(token)
        expires_in = body.get("expires_in")
        return token, int(expires_in) if expires_in else None

    # ---- inspect ---------------------------------------------------------------------------
    async def inspect(self, access_token: str) -> TokenInfo:
        info = self._token_info(await self._debug(access_token))
        if not info.valid:
            return info
        return TokenInfo(
            valid=True,
            expires_at=info.expires_at,
            scopes=info.scopes,
            account_ids=await self._ad_accounts(access_token),
        )

    async def _debug(self, token: str) -> dict[str, Any]:
        body = await self._get(
            f"/{self.version}/debug_token",
            "debug_token",
            {"input_token": token, "access_token": self._app_token},
        )
        data = body.get("data")
        if not isinstance(data, dict):
            raise PlatformCallError.of(ErrorCategory.UNKNOWN, "Meta debug_token answered without data")
        return data

    @staticmethod
    def _token_info(data: dict[str, Any]) -> TokenInfo:
        expires = int(data.get("expires_at") or 0)
        expires_at = datetime.fromtimestamp(expires, UTC) if expires > 0 else None
        error = data.get("error") if isinstance(data.get("error"), dict) else None
        valid = bool(data.get("is_valid"))
        if valid and expires_at is not None and expires_at <= datetime.now(UTC):
            valid = False
        reason = None
        if not valid:
            if error:
                reason = (
                    f"{error.get('message', 'invalid')} (code {error.get('code')}/{error.get('subcode')})"
                )
            else:
                reason = "expired" if expires_at is not None else "invalid"
            reason = redact(reason)
        return TokenInfo(
            valid=valid,
            expires_at=expires_at,
            scopes=[str(s) for s in data.get("scopes") or []],
            reason=reason,
        )

    async def _ad_accounts(self, token: str) -> list[str]:
        """Every ad account the token reaches (`/me/adaccounts`, followed page by page by cursor)."""
        accounts: list[str] = []
        params = {"fields": "id", "limit": "100", "access_token": token}
        for _ in range(100):  # 10 000 accounts is more than any connection should hold
            body = await self._get(f"/{self.version}/me/adaccounts", "me/adaccounts", params)
            accounts.extend(str(row["id"]) for row in body.get("data") or [] if row.get("id"))
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                break
            params = {**params, "after": str(after)}
        return sorted(set(accounts))

    # ---- pre-flight --------------------------------------------------------------------------
    async def account_status(self, access_token: str, account_id: str) -> AccountStatus:
        act = account_path_id(account_id)
        try:
            body = await self._get(
                f"/{self.version}/{act}",
                "act/account",
                {"fields": ACCOUNT_FIELDS, "access_token": access_token},
            )
        except PlatformCallError as exc:
            if exc.category in (ErrorCategory.PERMISSION, ErrorCategory.VALIDATION):
                return AccountStatus(
                    account_id=act,
                    reachable=False,
                    can_spend=False,
                    reason=AccountProblem.NOT_REACHABLE,
                    detail=exc.error.message,
                )
            raise
        code = int(body.get("account_status") or 0)
        name = STATUS_NAMES.get(code, str(code))
        disable = int(body.get("disable_reason") or 0)
        status = AccountStatus(
            account_id=act,
            reachable=True,
            can_spend=False,
            currency=body.get("currency"),
            timezone=body.get("timezone_name"),
            status=name,
            minimums=await self._minimums(access_token, act, body),
        )
        if code in (1, 201, 9):
            if body.get("funding_source") in (None, "", "0"):
                # Ads can be created without a payment method but get no delivery (Graph leaves null
                # fields out, so an absent funding_source is none).
                return _with(
                    status, reason=AccountProblem.UNFUNDED, detail="the ad account has no payment method"
                )
            detail = "in grace period: an unpaid balance, ads still deliver for now" if code == 9 else None
            return _with(status, can_spend=True, detail=detail)
        problem = STATUS_PROBLEMS.get(code, AccountProblem.UNKNOWN_STATUS)
        detail = f"account_status {code} ({name})"
        if disable:
            detail += f", disable_reason {disable} ({DISABLE_REASONS.get(disable, 'UNKNOWN')})"
        return _with(status, reason=problem, detail=detail)

    async def _minimums(self, token: str, act: str, account: dict[str, Any]) -> dict[str, Any]:
        minimums: dict[str, Any] = {}
        if account.get("min_daily_budget") is not None:
            minimums["min_daily_budget"] = int(account["min_daily_budget"])
        try:
            body = await self._get(
                f"/{self.version}/{act}/minimum_budgets", "act/minimum_budgets", {"access_token": token}
            )
        except PlatformCallError as exc:
            if exc.category in (ErrorCategory.AUTH, ErrorCategory.RATE_LIMIT, ErrorCategory.TRANSIENT):
                raise
            return minimums  # the account's own minimum still stands; the per-goal ones are a bonus
        for row in body.get("data") or []:
            if row.get("currency") in (None, account.get("currency")):
                minimums.update({k: v for k, v in row.items() if k.startswith("min_daily_budget")})
        return minimums

    # ---- transport -----------------------------------------------------------------------------
    async def _get(self, path: str, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        response = await self.http.request("GET", path, endpoint=endpoint, write=False, params=params)
        body = _json(response)
        if response.status_code >= 400 or "error" in body:
            raise _classify(response, body)
        return body

    async def close(self) -> None:
        await self.http.close()


def _with(status: AccountStatus, **changes: Any) -> AccountStatus:
    return replace(status, **changes)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _classify(response: httpx.Response, body: dict[str, Any]) -> Exception:
    """Graph's error envelope onto ReauthNeeded or the taxonomy (the message never carries a token)."""
    raw = body.get("error")
    error: dict[str, Any] = raw if isinstance(raw, dict) else {}
    code = int(error.get("code") or 0)
    subcode = int(error.get("error_subcode") or 0)
    message = redact(str(error.get("message") or f"HTTP {response.status_code}"))
    text = f"Meta error {code}" + (f"/{subcode}" if subcode else "") + f": {message}"
    fields: dict[str, Any] = {
        "platform_code": str(code) if code else None,
        "platform_subcode": str(subcode) if subcode else None,
        "trace_id": error.get("fbtrace_id"),
        "http_status": response.status_code,
    }
    if code in AUTH_CODES or subcode in AUTH_SUBCODES or code == 104:
        return ReauthNeeded(text)
    if code in (1, 101) and "validating" in message.lower():
        # "Error validating application / client secret": adrelay's app credentials, not the person's.
        return PlatformCallError.of(ErrorCategory.AUTH, text, **fields)
    if code in THROTTLE_CODES:
        return PlatformCallError.of(ErrorCategory.RATE_LIMIT, text, **fields)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or response.status_code >= 500:
        return PlatformCallError.of(ErrorCategory.TRANSIENT, text, **fields)
    if code == 10 or 200 <= code <= 299:
        return PlatformCallError.of(ErrorCategory.PERMISSION, text, **fields)
    if code in (100, 101):
        return PlatformCallError.of(ErrorCategory.VALIDATION, text, **fields)
    return PlatformCallError.of(ErrorCategory.UNKNOWN, text, **fields)
