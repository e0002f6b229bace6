"""Snap's rate limits: per app and per access token, plus per-endpoint windows with headers.

Snap documents an average of 20 requests/s per app and 10 requests/s per access token, HTTP 429
beyond ([S] rate-limits page). Recorded traffic shows per-endpoint limits with
`X-Rate-Limit-Limit` / `-Remaining` / `-Reset` (reset in epoch **milliseconds**, windows aligned to
5 s): 83 for campaign / ad squad / ad / creative writes (each method and resource counted apart),
25 for media creation, 1666 for stats. Recorded reads and uploads carry no such headers.

`config.rate_limits` keys: app_per_s, token_per_s, window_s, endpoint_window_s, write, media_create,
stats. Retry-After on 429 is UNCONFIRMED (switch `rate_limit_retry_after`).
"""

from __future__ import annotations

import math
from typing import Any

from sandbox.common.config import SandboxConfig
from sandbox.common.store import WindowRateLimiter
from sandbox.snapchat import errors
from sandbox.snapchat.errors import SnapError
from sandbox.snapchat.switches import switch

DEFAULTS: dict[str, float] = {
    "app_per_s": 20,
    "token_per_s": 10,
    "window_s": 1.0,
    "endpoint_window_s": 5.0,
    "write": 83,
    "media_create": 25,
    "stats": 1666,
}


class RateLimits:
    def __init__(self, limiter: WindowRateLimiter, config: SandboxConfig) -> None:
        self.limiter = limiter
        self.config = config

    def value(self, name: str) -> float:
        return float(self.config.rate_limits.get(name, DEFAULTS[name]))

    def check(self, grant: dict[str, Any], endpoint: str, klass: str | None, now: float) -> dict[str, str]:
        """Count one call; return the X-Rate-Limit-* headers to send, or raise HTTP 429."""
        window = self.value("window_s")
        token_limit = int(self.value("token_per_s") * window)
        app_limit = int(self.value("app_per_s") * window)
        ok, remaining, reset = self.limiter.hit(f"token:{grant['access_token']}", token_limit, window, now)
        if not ok:
            raise self._throttled(token_limit, reset, now, "access token")
        token_headers = _headers(token_limit, remaining, reset)
        ok, _, reset = self.limiter.hit(f"app:{grant['client_id']}", app_limit, window, now)
        if not ok:
            raise self._throttled(app_limit, reset, now, "app")
        if klass is None:
            return token_headers if switch(self.config, "rate_limit_headers_on_reads") else {}
        limit = int(self.value(klass))
        span = self.value("endpoint_window_s")
        index = math.floor(now / span)
        reset_at = (index + 1) * span
        scope = f"endpoint:{grant['client_id']}:{endpoint}:{index}"
        ok, remaining, _ = self.limiter.hit(scope, limit, span, now)
        if not ok:
            raise self._throttled(limit, reset_at, now, "endpoint")
        return _headers(limit, remaining, reset_at)

    def _throttled(self, limit: int, reset_at: float, now: float, scope: str) -> SnapError:
        headers = _headers(limit, 0, reset_at)
        if switch(self.config, "rate_limit_retry_after"):
            headers["Retry-After"] = str(max(1, math.ceil(reset_at - now)))
        return SnapError(
            429,
            errors.E_THROTTLED,
            f"Rate limit exceeded for this {scope}; slow down and retry after the reset time",
            "Too many requests",
            headers,
        )

    def fault(self, now: float, retry_after_s: float | None) -> SnapError:
        """The `rate_limit` fault effect: an exhausted endpoint window (Retry-After if asked for)."""
        span = self.value("endpoint_window_s")
        reset_at = (math.floor(now / span) + 1) * span if retry_after_s is None else now + retry_after_s
        err = self._throttled(int(self.value("write")), reset_at, now, "endpoint")
        if retry_after_s is not None:
            err.headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
        return err


def _headers(limit: int, remaining: int, reset_at: float) -> dict[str, str]:
    return {
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(max(remaining, 0)),
        "X-Rate-Limit-Reset": str(round(reset_at * 1000)),
    }
