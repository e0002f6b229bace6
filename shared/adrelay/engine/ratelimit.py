"""Rate limits respected before they are hit, shared by every replica through PostgreSQL.

A token bucket per (platform, scope) lives in `rate_limits`; `adrelay_rate_acquire` takes one call's
allowance atomically or says how long to wait, and `adrelay_rate_block` records what the platform
itself reports (usage headers near the limit, a throttle with its regain time). One round trip per
call; the scope names what the platform limits (an ad account, an app and endpoint, a token).
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Gauge

from adrelay.model import Platform
from adrelay.platforms.http import Limit, Limiter
from adrelay.storage.db import Database

RATE_LIMIT_USAGE = Gauge(
    "adrelay_rate_limit_usage_ratio",
    "Last reported share of a platform rate limit in use (0-1), per scope kind",
    ["platform", "scope_kind"],
)


class PostgresLimiter(Limiter):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def acquire(self, platform: Platform, limit: Limit) -> float:
        async with self.db.connection() as conn:
            wait = await conn.fetchval(
                "select adrelay_rate_acquire($1, $2, $3, $4)",
                platform.value,
                limit.scope,
                float(limit.rate_per_s),
                float(limit.burst),
            )
        return float(wait or 0.0)

    async def acquire_all(self, platform: Platform, limits: Sequence[Limit]) -> float:
        """All the call's scopes in one round trip, all or nothing (adrelay_rate_acquire_all)."""
        async with self.db.connection() as conn:
            wait = await conn.fetchval(
                "select adrelay_rate_acquire_all($1, $2::text[], $3::float8[], $4::float8[])",
                platform.value,
                [limit.scope for limit in limits],
                [float(limit.rate_per_s) for limit in limits],
                [float(limit.burst) for limit in limits],
            )
        return float(wait or 0.0)

    async def block(
        self, platform: Platform, scope: str, seconds: float, usage_pct: float | None = None
    ) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                "select adrelay_rate_block($1, $2, $3, $4)",
                platform.value,
                scope,
                max(seconds, 0.0),
                usage_pct,
            )
        if usage_pct is not None:
            kind = scope.split(":")[1] if ":" in scope else scope
            RATE_LIMIT_USAGE.labels(platform.value, kind).set(usage_pct / 100.0)
