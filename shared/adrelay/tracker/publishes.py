"""What the tracker reads from tables other services own (read-only): the publish command the
orchestrator stored, and the external ids a publisher recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from adrelay.events import PublishCampaign


@dataclass(frozen=True)
class PublishRecord:
    command: PublishCampaign
    created_at: datetime


@dataclass(frozen=True)
class AdMatch:
    publish_id: str
    campaign_id: str
    ad_id: str


async def publish_record(conn: asyncpg.Connection, publish_id: str) -> PublishRecord | None:
    """The orchestrator's `publishes` row: the campaign definition and targets as submitted."""
    row = await conn.fetchrow("select command, created_at from publishes where publish_id = $1", publish_id)
    if row is None:
        return None
    return PublishRecord(PublishCampaign.model_validate(_load(row["command"])), row["created_at"])


async def match_ad(conn: asyncpg.Connection, platform: str, external_ad_id: str) -> AdMatch | None:
    """Which publish created this platform ad (the publishers' `campaign_platform_data`)."""
    row = await conn.fetchrow(
        """
        select c.publish_id, c.campaign_id, e.key as ad_id
        from campaign_platform_data c, jsonb_each_text(c.external_ad_ids) e
        where c.platform = $1 and e.value = $2
        order by c.updated_at desc
        limit 1
        """,
        platform,
        external_ad_id,
    )
    return None if row is None else AdMatch(row["publish_id"], row["campaign_id"], row["ad_id"])


def _load(raw: Any) -> Any:
    return orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
