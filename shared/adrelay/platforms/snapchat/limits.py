"""Which rate limits a Snapchat call must respect, and how Snap's usage headers feed the limiter.

Snap documents averages of 20 requests/s per app and 10 per access token ([S] rate-limits page quoted
in platform-apis §3.11); recorded traffic adds per-endpoint windows announced in `X-Rate-Limit-Limit`,
`X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset` (reset in epoch MILLISECONDS, 5 s windows): 83 for
campaign / ad squad / creative / ad writes, 25 for media creation, 1666 for stats [O]. Every call
takes the token and app allowances before it is sent; writes, media creation and stats also take
their endpoint allowance, so that a `Remaining: 0` answer (recorded in `block`) holds the next calls
back until the window resets instead of earning a 429.

Scopes name the connection (never the token: scopes are stored and exported as metrics).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import httpx

from adrelay.model import Platform
from adrelay.platforms.http import Limit, Limiter
from adrelay.platforms.settings import SnapchatSettings

APP_RPS = 20.0  # documented average per app [S]
ENDPOINT_WINDOW_S = 5.0  # recorded resets are 5 000 ms aligned [O]


class EndpointClass(StrEnum):
    """How Snap counts a call beyond the token and app averages."""

    READ = "read"  # lists and reads: no endpoint header recorded
    WRITE = "write"  # POST / PUT / DELETE of campaigns, ad squads, creatives, ads
    MEDIA_CREATE = "media_create"  # POST /adaccounts/{id}/media
    UPLOAD = "upload"  # media bytes: no endpoint header recorded
    STATS = "stats"


# Allowance per ENDPOINT_WINDOW_S, as recorded in X-Rate-Limit-Limit [O].
ENDPOINT_ALLOWANCE: dict[EndpointClass, int] = {
    EndpointClass.WRITE: 83,
    EndpointClass.MEDIA_CREATE: 25,
    EndpointClass.STATS: 1666,
}


@dataclass(frozen=True)
class UsageHeaders:
    """Snap's X-Rate-Limit-* headers of one response (absent headers: None)."""

    limit: int | None
    remaining: int | None
    reset_at_s: float | None  # epoch seconds
    retry_after_s: float | None

    @classmethod
    def of(cls, headers: Mapping[str, str], now: float | None = None) -> UsageHeaders:
        now = time.time() if now is None else now
        reset_ms = _number(headers.get("X-Rate-Limit-Reset"))
        return cls(
            limit=_integer(headers.get("X-Rate-Limit-Limit")),
            remaining=_integer(headers.get("X-Rate-Limit-Remaining")),
            reset_at_s=reset_ms / 1000.0 if reset_ms is not None else None,
            retry_after_s=_retry_after(headers.get("Retry-After"), now),
        )

    def seconds_until_reset(self, now: float | None = None) -> float | None:
        """How long to hold back: Retry-After when given, else until the announced reset."""
        now = time.time() if now is None else now
        if self.retry_after_s is not None:
            return max(self.retry_after_s, 0.0)
        if self.reset_at_s is not None:
            return max(self.reset_at_s - now, 0.0)
        return None

    @property
    def usage_pct(self) -> float | None:
        if self.limit is None or self.remaining is None or self.limit <= 0:
            return None
        return 100.0 * (self.limit - self.remaining) / self.limit


class SnapLimits:
    """The limits of each call, and the limiter blocks that Snap's answers call for."""

    def __init__(self, settings: SnapchatSettings, limiter: Limiter) -> None:
        self.settings = settings
        self.limiter = limiter

    @staticmethod
    def token_scope(connection_id: str) -> str:
        return f"snapchat:token:{connection_id}"

    def app_scope(self) -> str:
        return f"snapchat:app:{self.settings.client_id or 'default'}"

    @staticmethod
    def endpoint_scope(connection_id: str, endpoint: str) -> str:
        return f"snapchat:endpoint:{connection_id}:{endpoint}"

    def for_call(self, connection_id: str, endpoint: str, klass: EndpointClass) -> list[Limit]:
        """Even pacing (burst 1): Snap counts calls in fixed windows, and calls spaced at the allowed
        rate never put more than the allowance into any one window, whatever its alignment."""
        limits = [
            Limit(self.token_scope(connection_id), self.settings.token_rps, 1.0),
            Limit(self.app_scope(), self.settings.app_rps, 1.0),
        ]
        allowance = ENDPOINT_ALLOWANCE.get(klass)
        if allowance is not None:
            limits.append(
                Limit(self.endpoint_scope(connection_id, endpoint), allowance / ENDPOINT_WINDOW_S, 1.0)
            )
        return limits

    async def observe(
        self, response: httpx.Response, connection_id: str, endpoint: str, now: float | None = None
    ) -> None:
        """A throttled answer holds the whole connection back; an exhausted endpoint window holds
        back that endpoint until the reset Snap announced."""
        usage = UsageHeaders.of(response.headers, now)
        wait = usage.seconds_until_reset(now)
        if response.status_code == 429:
            await self.limiter.block(
                Platform.SNAPCHAT, self.token_scope(connection_id), wait if wait else 1.0, usage.usage_pct
            )
        elif usage.remaining == 0 and wait:
            await self.limiter.block(
                Platform.SNAPCHAT, self.endpoint_scope(connection_id, endpoint), wait, usage.usage_pct
            )


def _integer(raw: str | None) -> int | None:
    value = _number(raw)
    return int(value) if value is not None else None


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw.strip())
    except ValueError:
        return None


def _retry_after(raw: str | None, now: float) -> float | None:
    """Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3)."""
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - now
