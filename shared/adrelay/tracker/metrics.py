"""Daily metrics per level in PostgreSQL: upserted by (platform, level, external id, day), so reading
a day again replaces it instead of adding to it; lifetime totals are sums of the campaign-level days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg
import orjson

from adrelay.events.payloads import MetricTotals
from adrelay.platforms.common import DailyMetrics


@dataclass(frozen=True)
class Owner:
    """Whose rows these are: the publish, platform, campaign and account (currency, time zone)."""

    publish_id: str
    platform: str
    campaign_id: str
    account_id: str
    currency: str
    time_zone: str


async def upsert(conn: asyncpg.Connection, owner: Owner, rows: Sequence[DailyMetrics]) -> int:
    if not rows:
        return 0
    await conn.executemany(
        """
        insert into performance_metrics (platform, level, external_id, day, publish_id, campaign_id, account_id,
            currency, time_zone, impressions, clicks, spend_micros, conversions, raw)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb)
        on conflict (platform, level, external_id, day) do update set
            impressions = excluded.impressions, clicks = excluded.clicks, spend_micros = excluded.spend_micros,
            conversions = excluded.conversions, raw = excluded.raw, currency = excluded.currency,
            time_zone = excluded.time_zone, synced_at = now()
        """,
        [
            (
                owner.platform,
                r.level,
                r.external_id,
                r.date,
                owner.publish_id,
                owner.campaign_id,
                owner.account_id,
                owner.currency,
                owner.time_zone,
                r.impressions,
                r.clicks,
                r.spend_micros,
                r.conversions,
                orjson.dumps(r.raw, default=str).decode(),
            )
            for r in rows
        ],
    )
    return len(rows)


async def totals(
    conn: asyncpg.Connection, publish_id: str, platform: str, external_campaign_id: str
) -> tuple[MetricTotals, date | None, date | None]:
    """The campaign's lifetime totals and the first and last day with delivery."""
    row = await conn.fetchrow(
        """
        select coalesce(sum(impressions), 0)::bigint as impressions, coalesce(sum(clicks), 0)::bigint as clicks,
               coalesce(sum(spend_micros), 0)::bigint as spend_micros,
               coalesce(sum(conversions), 0)::bigint as conversions, min(day) as first_day, max(day) as last_day
        from performance_metrics
        where platform = $1 and level = 'campaign' and external_id = $2 and publish_id = $3
        """,
        platform,
        external_campaign_id,
        publish_id,
    )
    assert row is not None
    return (
        MetricTotals(
            impressions=row["impressions"],
            clicks=row["clicks"],
            spend_micros=row["spend_micros"],
            conversions=row["conversions"],
        ),
        row["first_day"],
        row["last_day"],
    )
