"""Rate limiting per ad account and the usage headers Graph sends with every response.

Calls are counted per ad account and usage type (`ads_management`, `ads_insights`) in fixed windows
(`config.rate_limits`: `calls_per_window`, `window_s`); the headers report the share used in percent:
`X-Business-Use-Case-Usage` (with `estimated_time_to_regain_access` in minutes), `X-Ad-Account-Usage`
and `X-App-Usage`. Over the limit the call fails with the throttle error (80004 / 80000, or 17 / 613
by config), `is_transient` true.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from sandbox.common.config import SandboxConfig
from sandbox.common.store import WindowRateLimiter
from sandbox.meta.errors import GraphError, throttle
from sandbox.meta.settings import rate_limit

TIER = "standard_access"


class Usage:
    def __init__(self, limiter: WindowRateLimiter, config: SandboxConfig) -> None:
        self.limiter = limiter
        self.config = config

    def _limits(self) -> tuple[int, float]:
        return int(rate_limit(self.config, "calls_per_window")), float(rate_limit(self.config, "window_s"))

    def count(self, account: str, usage_type: str, app_id: str | None) -> None:
        """Count one call; raise the throttle error when the account's window is used up."""
        limit, window = self._limits()
        if app_id:
            app_limit = rate_limit(self.config, "app_calls_per_window")
            allowed_app, _, _ = self.limiter.hit(f"app:{app_id}", int(app_limit or 10**9), window)
            if app_limit and not allowed_app:
                raise GraphError(
                    "(#4) Application request limit reached",
                    4,
                    is_transient=True,
                    headers=self.headers(account, app_id, throttled=True),
                )
        allowed, _, _ = self.limiter.hit(f"acct:{account}:{usage_type}", limit, window)
        if not allowed:
            kind = str(rate_limit(self.config, "error"))
            if kind == "80004" and usage_type == "ads_insights":
                kind = "80000"
            raise throttle(kind, self.regain_minutes(account), self.headers(account, app_id, throttled=True))

    def regain_minutes(self, account: str) -> int:
        _, window = self._limits()
        now = time.time()
        resets = [
            start + window
            for scope, (start, _count) in list(self.limiter._windows.items())
            if scope.startswith(f"acct:{account}:")
        ]
        remaining = max([r - now for r in resets] or [window])
        return max(1, math.ceil(remaining / 60))

    def _pct(self, scope: str) -> float:
        limit, window = self._limits()
        return min(100.0, round(self.limiter.usage(scope, limit, window) * 100, 2))

    def headers(self, account: str | None, app_id: str | None, throttled: bool = False) -> dict[str, str]:
        out: dict[str, str] = {}
        limit, window = self._limits()
        if account is not None:
            rows = []
            for usage_type in ("ads_management", "ads_insights"):
                pct = self._pct(f"acct:{account}:{usage_type}")
                over = throttled or pct >= 100
                rows.append(
                    {
                        "type": usage_type,
                        "call_count": 100 if throttled else int(pct),
                        "total_cputime": int(pct * 0.6),
                        "total_time": int(pct * 0.8),
                        "estimated_time_to_regain_access": self.regain_minutes(account) if over else 0,
                        "ads_api_access_tier": TIER,
                    }
                )
            out["X-Business-Use-Case-Usage"] = json.dumps({account: rows}, separators=(",", ":"))
            pct = 100.0 if throttled else self._pct(f"acct:{account}:ads_management")
            start_count = self.limiter._windows.get(f"acct:{account}:ads_management")
            reset_in = int(max(0, (start_count[0] + window) - time.time())) if start_count else 0
            out["X-Ad-Account-Usage"] = json.dumps(
                {"acc_id_util_pct": pct, "reset_time_duration": reset_in, "ads_api_access_tier": TIER},
                separators=(",", ":"),
            )
        if app_id:
            app_limit = rate_limit(self.config, "app_calls_per_window") or limit * 10
            app_pct = min(100, int(self.limiter.usage(f"app:{app_id}", int(app_limit), window) * 100))
            out["X-App-Usage"] = json.dumps(
                {
                    "call_count": app_pct,
                    "total_cputime": int(app_pct * 0.5),
                    "total_time": int(app_pct * 0.7),
                },
                separators=(",", ":"),
            )
        return out


def add_headers(target: Any, headers: dict[str, str]) -> None:
    for key, value in headers.items():
        target[key] = value
