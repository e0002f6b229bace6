"""Client plumbing every platform client shares: one httpx.AsyncClient, rate limits respected before
the call, transport failures mapped onto the taxonomy, and per-call metrics.

The single most important mapping: a write whose request may have reached the platform but whose
answer did not come back raises `OutcomeUnknown`, never a plain retryable error, so the engine looks
the object up by its tag before any second create.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter, Histogram

from adrelay.events.payloads import ErrorCategory
from adrelay.model import Platform
from adrelay.platforms.errors import OutcomeUnknown, PlatformCallError

PLATFORM_CALLS = Counter(
    "adrelay_platform_calls_total", "Calls to ad platforms", ["platform", "endpoint", "outcome"]
)
PLATFORM_CALL_SECONDS = Histogram(
    "adrelay_platform_call_seconds",
    "Latency of calls to ad platforms",
    ["platform", "endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 30),
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "adrelay_rate_limit_wait_seconds_total",
    "Time spent waiting for rate-limit headroom",
    ["platform", "scope_kind"],
)
# Waits up to this long happen before the call; longer ones become a durable timer in the engine.
INLINE_WAIT_MAX_S = 1.0


@dataclass(frozen=True)
class Limit:
    """A rate limit the call must respect: `rate_per_s` sustained, bursts of up to `burst`."""

    scope: str  # e.g. "meta:account:act_1", "tiktok:app:123:/ad/create/", "snapchat:token:conn-1"
    rate_per_s: float
    burst: float

    @property
    def kind(self) -> str:
        return self.scope.split(":")[1] if ":" in self.scope else self.scope


class RateLimitWait(PlatformCallError):
    """No headroom for a while: the engine parks the run until `retry_after_s` (a durable timer)."""


class Limiter:
    """What PlatformHttp needs from a rate limiter (the engine's is shared through PostgreSQL)."""

    async def acquire(self, platform: Platform, limit: Limit) -> float:
        """Take one call's allowance now and return 0, or return the seconds until one is available."""
        return 0.0

    async def acquire_all(self, platform: Platform, limits: Sequence[Limit]) -> float:
        """Take one call's allowance from every limit at once, or none and say how long to wait."""
        wait = 0.0
        for limit in limits:
            wait = max(wait, await self.acquire(platform, limit))
        return wait

    async def block(
        self, platform: Platform, scope: str, seconds: float, usage_pct: float | None = None
    ) -> None:
        """The platform says this scope is (nearly) exhausted: nobody calls it for `seconds`."""


ResponseHook = Callable[[httpx.Response], Awaitable[None]]


class PlatformHttp:
    def __init__(
        self,
        platform: Platform,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        limiter: Limiter | None = None,
        on_response: ResponseHook | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
        max_connections: int = 50,
    ) -> None:
        self.platform = platform
        self.timeout_s = timeout_s
        self.limiter = limiter or Limiter()
        self.on_response = on_response
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            transport=transport,
            headers=headers,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        write: bool,
        limits: Sequence[Limit] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """One call. `endpoint` labels metrics (no ids in it); `write` decides how an unanswered call is
        reported (OutcomeUnknown for writes, transient for reads)."""
        await self._respect(limits)
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Never sent: safe to retry.
            self._count(endpoint, "unreachable", started)
            raise PlatformCallError.of(
                ErrorCategory.TRANSIENT, f"{self.platform.value} unreachable: {exc!r}"
            ) from exc
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            self._count(endpoint, "no_answer", started)
            if write:
                raise OutcomeUnknown(f"{method} {endpoint}: sent, no answer ({type(exc).__name__})") from exc
            raise PlatformCallError.of(ErrorCategory.TRANSIENT, f"{endpoint}: no answer ({exc!r})") from exc
        self._count(endpoint, _outcome(response.status_code), started)
        if self.on_response is not None:
            await self.on_response(response)
        return response

    async def _respect(self, limits: Sequence[Limit]) -> None:
        if not limits:
            return
        while True:
            wait = await self.limiter.acquire_all(self.platform, limits)
            if wait <= 0:
                return
            if wait > INLINE_WAIT_MAX_S:
                scopes = ", ".join(limit.scope for limit in limits)
                raise RateLimitWait.of(
                    ErrorCategory.RATE_LIMIT, f"no rate-limit headroom on {scopes}", retry_after_s=wait
                )
            RATE_LIMIT_WAIT_SECONDS.labels(self.platform.value, limits[-1].kind).inc(wait)
            await asyncio.sleep(wait)

    def _count(self, endpoint: str, outcome: str, started: float) -> None:
        PLATFORM_CALLS.labels(self.platform.value, endpoint, outcome).inc()
        PLATFORM_CALL_SECONDS.labels(self.platform.value, endpoint).observe(time.perf_counter() - started)

    async def close(self) -> None:
        await self.client.aclose()


def _outcome(status: int) -> str:
    if status < 300:
        return "ok"
    if status == 429:
        return "throttled"
    if status >= 500:
        return "server_error"
    return "client_error"
