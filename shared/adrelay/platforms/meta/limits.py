"""Meta rate limits: which scopes a call counts against, and how Meta's usage headers slow us down.

Meta counts Marketing API calls per ad account and usage type (ads_management, ads_insights) and per
app, and reports the share used on every answer (`X-Business-Use-Case-Usage`, `X-Ad-Account-Usage`,
`X-App-Usage`, in percent). Published quotas are hourly and depend on the access tier, so the local
token buckets are only a smoothing layer; the headers decide: above `slow_down_at_pct` every caller of
the scope is held back for longer the closer usage gets to 100 %, and a throttled scope is blocked
for Meta's own `estimated_time_to_regain_access`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from adrelay.model import Platform
from adrelay.platforms.http import Limit, Limiter
from adrelay.platforms.settings import MetaSettings

# Request extension naming the ad account a call belongs to (usage headers do not always say).
ACCOUNT_EXTENSION = "adrelay.meta.account"
ACCOUNT_RATE_PER_S, ACCOUNT_BURST = 5.0, 20.0  # ads_management calls per ad account
INSIGHTS_RATE_PER_S, INSIGHTS_BURST = 2.0, 10.0  # ads_insights calls per ad account
APP_RATE_PER_S, APP_BURST = 50.0, 100.0  # all calls of the app
# Just above the threshold a scope pauses for a moment; near 100 % for up to this long.
SLOWDOWN_MAX_S = 60.0
# At 100 % without an estimate from Meta, hold the scope this long.
EXHAUSTED_HOLD_S = 60.0


def account_scope(account_id: str) -> str:
    return f"meta:account:{account_id}"


def insights_scope(account_id: str) -> str:
    return f"meta:insights:{account_id}"


class MetaLimits:
    def __init__(self, settings: MetaSettings, limiter: Limiter) -> None:
        self.settings = settings
        self.limiter = limiter
        self.app_scope = f"meta:app:{settings.app_id or 'default'}"

    def for_call(self, account_id: str | None, *, insights: bool = False) -> list[Limit]:
        limits = [Limit(self.app_scope, self.settings.app_rps, max(APP_BURST, self.settings.app_rps * 2))]
        if account_id is not None:
            if insights:
                limits.append(Limit(insights_scope(account_id), INSIGHTS_RATE_PER_S, INSIGHTS_BURST))
            else:
                limits.append(
                    Limit(account_scope(account_id), self.settings.account_rps, self.settings.account_burst)
                )
        return limits

    async def observe(self, response: httpx.Response) -> None:
        """The `on_response` hook: turn the usage headers of one answer into limiter blocks."""
        account = response.request.extensions.get(ACCOUNT_EXTENSION)
        account_id = account if isinstance(account, str) else None
        for scope, seconds, pct in self.blocks(response.headers, account_id):
            await self.limiter.block(Platform.META, scope, seconds, pct)

    def blocks(self, headers: Mapping[str, str], account_id: str | None) -> list[tuple[str, float, float]]:
        """(scope, seconds, usage percent) for every scope the headers say to hold back. Pure."""
        headers = {key.lower(): value for key, value in headers.items()}
        out: dict[str, tuple[float, float]] = {}
        estimated: set[str] = set()  # scopes Meta gave a regain estimate for: that estimate decides

        def hold(
            scope: str, pct: float, regain_s: float = 0.0, exhausted_s: float = EXHAUSTED_HOLD_S
        ) -> None:
            if scope in estimated and regain_s <= 0:
                return
            seconds = regain_s if regain_s > 0 else self.slowdown_s(pct, exhausted_s)
            if regain_s > 0 and scope not in estimated:
                estimated.add(scope)
                out.pop(scope, None)
            if seconds > 0 and seconds >= out.get(scope, (0.0, 0.0))[0]:
                out[scope] = (seconds, pct)

        for owner, entries in _json_object(headers.get("x-business-use-case-usage")).items():
            account = account_id or f"act_{owner}"
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, Mapping):
                    continue
                pct = _max_pct(entry, ("call_count", "total_cputime", "total_time"))
                insights = entry.get("type") == "ads_insights"
                scope = insights_scope(account) if insights else account_scope(account)
                hold(scope, pct, regain_s=_number(entry.get("estimated_time_to_regain_access")) * 60)
        account_usage = _json_object(headers.get("x-ad-account-usage"))
        if account_usage and account_id is not None:
            reset_s = _number(account_usage.get("reset_time_duration")) or EXHAUSTED_HOLD_S
            pct = _number(account_usage.get("acc_id_util_pct"))
            hold(account_scope(account_id), pct, exhausted_s=reset_s)
        app_usage = _json_object(headers.get("x-app-usage"))
        if app_usage:
            hold(self.app_scope, _max_pct(app_usage, ("call_count", "total_cputime", "total_time")))
        return [(scope, seconds, pct) for scope, (seconds, pct) in out.items()]

    def slowdown_s(self, pct: float, exhausted_s: float = EXHAUSTED_HOLD_S) -> float:
        threshold = self.settings.slow_down_at_pct
        if pct >= 100:
            return exhausted_s
        if pct < threshold:
            return 0.0
        return SLOWDOWN_MAX_S * (pct - threshold) / max(100.0 - threshold, 1.0)


def _json_object(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _max_pct(entry: Mapping[str, Any], keys: tuple[str, ...]) -> float:
    return max((_number(entry.get(k)) for k in keys), default=0.0)
