"""Tracked campaigns: one row per publish and platform saying where the metrics come from, until when
they are read, why tracking stopped, and the lifetime totals (initialised at zero when tracking starts:
the seed's "initialize campaign metrics")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from adrelay.events.payloads import MetricTotals
from adrelay.tracker.schedule import stop_jobs


@dataclass(frozen=True)
class TrackedCampaign:
    publish_id: str
    platform: str
    campaign_id: str
    connection_id: str
    account_id: str
    external_campaign_id: str
    since: datetime
    track_until: datetime | None
    currency: str | None
    time_zone: str | None
    state: str
    synced_from: date | None
    synced_through: date | None
    last_synced_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state == "active"

    @classmethod
    def of(cls, row: asyncpg.Record) -> TrackedCampaign:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


async def start(
    conn: asyncpg.Connection,
    *,
    publish_id: str,
    platform: str,
    campaign_id: str,
    connection_id: str,
    account_id: str,
    external_campaign_id: str,
    since: datetime,
    track_until: datetime | None,
) -> bool:
    """Begin tracking (idempotent); False when it had begun already."""
    inserted = await conn.fetchval(
        """
        insert into tracked_campaigns (publish_id, platform, campaign_id, connection_id, account_id,
            external_campaign_id, since, track_until)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        on conflict (publish_id, platform) do nothing
        returning true
        """,
        publish_id,
        platform,
        campaign_id,
        connection_id,
        account_id,
        external_campaign_id,
        since,
        track_until,
    )
    return bool(inserted)


async def stop(conn: asyncpg.Connection, publish_id: str, platform: str | None, reason: str) -> int:
    """Stop tracking a publish (one platform or all): no job of it runs again."""
    stopped = await conn.fetch(
        """
        update tracked_campaigns set state = 'stopped', stop_reason = $3, stopped_at = now(), updated_at = now()
        where publish_id = $1 and ($2::text is null or platform = $2) and state = 'active'
        returning platform
        """,
        publish_id,
        platform,
        reason,
    )
    await stop_jobs(conn, publish_id, platform)
    return len(stopped)


async def load(conn: asyncpg.Connection, publish_id: str, platform: str) -> TrackedCampaign | None:
    row = await conn.fetchrow(
        "select * from tracked_campaigns where publish_id = $1 and platform = $2", publish_id, platform
    )
    return None if row is None else TrackedCampaign.of(row)


async def set_account(
    conn: asyncpg.Connection, publish_id: str, platform: str, currency: str, time_zone: str
) -> None:
    await conn.execute(
        """
        update tracked_campaigns set currency = $3, time_zone = $4, updated_at = now()
        where publish_id = $1 and platform = $2
        """,
        publish_id,
        platform,
        currency,
        time_zone,
    )


async def synced(
    conn: asyncpg.Connection,
    publish_id: str,
    platform: str,
    totals: MetricTotals,
    synced_from: date,
    synced_through: date,
) -> None:
    await conn.execute(
        """
        update tracked_campaigns set impressions = $3, clicks = $4, spend_micros = $5, conversions = $6,
            synced_from = least(coalesce(synced_from, $7), $7), synced_through = greatest(coalesce(synced_through, $8), $8),
            last_synced_at = now(), updated_at = now()
        where publish_id = $1 and platform = $2
        """,
        publish_id,
        platform,
        totals.impressions,
        totals.clicks,
        totals.spend_micros,
        totals.conversions,
        synced_from,
        synced_through,
    )
