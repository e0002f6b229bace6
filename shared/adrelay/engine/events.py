"""The result events a publisher emits and the records that go with them."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import orjson

from adrelay.engine.journal import RunRecord, utcnow
from adrelay.events import (
    Envelope,
    PlatformActivated,
    PlatformPublishFailed,
    PlatformPublishProgressed,
    PlatformPublishSucceeded,
    PlatformRolledBack,
    stable_event_id,
)
from adrelay.events.payloads import ExternalIds, LeftObject, Payload, PlatformError
from adrelay.platforms.base import PlatformAdapter, PublishContext, StepKind


def external_ids(ctx: PublishContext, adapter: PlatformAdapter) -> ExternalIds:
    ids = ExternalIds(account_id=adapter.account_id(ctx.target))
    buckets: dict[str, dict[str, str]] = {"ad_set": {}, "creative": {}, "ad": {}, "media": {}}
    campaign: str | None = None
    for key, outcome in ctx.outcomes.items():
        kind, _, ref = key.partition(":")
        if kind == StepKind.CAMPAIGN.value:
            campaign = outcome.external_id
        elif kind in buckets:
            buckets[kind][ref] = outcome.external_id
    return ids.model_copy(
        update={
            "campaign": campaign,
            "ad_sets": buckets["ad_set"],
            "creatives": buckets["creative"],
            "ads": buckets["ad"],
            "media": buckets["media"],
        }
    )


def _envelope(run: RunRecord, payload: Payload, event_id: uuid.UUID | None = None) -> Envelope:
    return Envelope.new(
        payload,
        campaign_id=run.campaign_id,
        publish_id=run.publish_id,
        event_id=event_id,
    )


def succeeded(run: RunRecord, ids: ExternalIds) -> Envelope:
    payload = PlatformPublishSucceeded(platform=run.platform, external_ids=ids)
    return _envelope(
        run, payload, stable_event_id(run.publish_id, run.platform.value, "succeeded", str(run.attempt))
    )


def failed(
    run: RunRecord, ids: ExternalIds, error: PlatformError, created: bool, unknown: list[str]
) -> Envelope:
    payload = PlatformPublishFailed(
        platform=run.platform,
        error=error,
        external_ids=ids,
        created_anything=created,
        outcome_unknown_steps=unknown,
    )
    return _envelope(
        run, payload, stable_event_id(run.publish_id, run.platform.value, "failed", str(run.attempt))
    )


def rolled_back(run: RunRecord, outcome: str, deleted: list[str], left: list[LeftObject]) -> Envelope:
    payload = PlatformRolledBack(platform=run.platform, outcome=outcome, deleted=deleted, left=left)
    # A rollback can run again (an operator's cleanup retry): each claim has its own fencing token.
    event_id = stable_event_id(run.publish_id, run.platform.value, "rolled_back", str(run.fencing_token))
    return _envelope(run, payload, event_id)


def activated(run: RunRecord, error: PlatformError | None) -> Envelope:
    payload = PlatformActivated(platform=run.platform, ok=error is None, error=error)
    event_id = stable_event_id(run.publish_id, run.platform.value, "activated", str(run.fencing_token))
    return _envelope(run, payload, event_id)


def progressed(
    run: RunRecord,
    step: str,
    state: str,
    done: int | None,
    total: int | None,
    detail: str | None,
    wait_until: datetime | None,
) -> Envelope:
    payload = PlatformPublishProgressed(
        platform=run.platform,
        step=step,
        step_state=state,
        steps_done=done or 0,
        steps_total=total or 0,
        detail=detail,
        wait_until=wait_until,
    )
    return _envelope(run, payload)


def age_s(run: RunRecord) -> float:
    """Seconds since the publish request reached this publisher."""
    return 0.0 if run.created_at is None else max((utcnow() - run.created_at).total_seconds(), 0.0)


async def store_platform_data(
    conn: asyncpg.Connection, run: RunRecord, ids: ExternalIds, status: str
) -> None:
    await conn.execute(
        """
        insert into campaign_platform_data (publish_id, platform, campaign_id, external_campaign_id,
            external_adset_ids, external_ad_ids, metadata, status)
        values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8)
        on conflict (publish_id, platform) do update set
            external_campaign_id = excluded.external_campaign_id, external_adset_ids = excluded.external_adset_ids,
            external_ad_ids = excluded.external_ad_ids, metadata = excluded.metadata, status = excluded.status,
            updated_at = now()
        """,
        run.publish_id,
        run.platform.value,
        run.campaign_id,
        ids.campaign,
        orjson.dumps(ids.ad_sets).decode(),
        orjson.dumps(ids.ads).decode(),
        orjson.dumps({"account_id": ids.account_id, "creatives": ids.creatives, "media": ids.media}).decode(),
        status,
    )


async def mark_platform_data(conn: asyncpg.Connection, run: RunRecord, status: str) -> None:
    await conn.execute(
        "update campaign_platform_data set status = $3, updated_at = now() where publish_id = $1 and platform = $2",
        run.publish_id,
        run.platform.value,
        status,
    )


async def store_cleanup(
    conn: asyncpg.Connection, run: RunRecord, left: list[LeftObject], status: str
) -> None:
    """Record what a rollback left behind; rows of objects removed since (a retry) are resolved."""
    await conn.execute(
        """
        update manual_cleanup set resolved_at = now(), resolution = 'deleted by a rollback retry'
        where publish_id = $1 and platform = $2 and resolved_at is null and not (external_id = any($3::text[]))
        """,
        run.publish_id,
        run.platform.value,
        [item.external_id for item in left],
    )
    for item in left:
        await conn.execute(
            """
            insert into manual_cleanup (publish_id, platform, kind, external_id, reason)
            values ($1, $2, $3, $4, $5)
            on conflict (publish_id, platform, external_id) do update set reason = excluded.reason,
                resolved_at = null, resolution = null
            """,
            run.publish_id,
            run.platform.value,
            item.kind,
            item.external_id,
            item.reason,
        )
    await mark_platform_data(conn, run, status)
