"""Ad review states: what was last observed (webhook or poll) and what was last emitted.

Observations from webhooks and polls land in `ad_reviews` (the newest wins) and mark the row dirty;
`apply` then emits AdReviewChanged — on topic platform-results, read by the orchestrator — only when
the observed review differs from the emitted one, under the row's lock, so each outcome is emitted
once however many deliveries, duplicates, polls and replicas saw it. An observation may name an ad
before its publisher recorded it (reviews can finish before the publish does): it waits, matched
later against the publishers' external ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from adrelay.events import AdReviewChanged, Envelope
from adrelay.events.envelope import stable_event_id
from adrelay.events.payloads import PolicyViolation
from adrelay.model import Platform
from adrelay.tracker.outcomes import ReviewOutcome
from adrelay.tracker.publishes import match_ad

OPEN = (None, "pending")


@dataclass(frozen=True)
class ReviewRow:
    platform: str
    external_ad_id: str
    account_id: str | None
    publish_id: str | None
    campaign_id: str | None
    ad_id: str | None
    review: str | None
    violations: list[dict[str, Any]]
    suggestions: list[str]
    source: str | None
    needs_detail: bool
    emitted_review: str | None
    emitted_version: int
    attempts: int
    created_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> ReviewRow:
        return cls(
            platform=row["platform"],
            external_ad_id=row["external_ad_id"],
            account_id=row["account_id"],
            publish_id=row["publish_id"],
            campaign_id=row["campaign_id"],
            ad_id=row["ad_id"],
            review=row["review"],
            violations=_load(row["violations"]),
            suggestions=_load(row["suggestions"]),
            source=row["source"],
            needs_detail=row["needs_detail"],
            emitted_review=row["emitted_review"],
            emitted_version=row["emitted_version"],
            attempts=row["attempts"],
            created_at=row["created_at"],
        )


async def register_ads(
    conn: asyncpg.Connection,
    platform: str,
    publish_id: str,
    campaign_id: str,
    account_id: str,
    ads: dict[str, str],
) -> None:
    """The ads of a tracked publish (ad id → external id); an early observation of one is matched now."""
    await conn.executemany(
        """
        insert into ad_reviews (platform, external_ad_id, account_id, publish_id, campaign_id, ad_id, dirty)
        values ($1, $2, $3, $4, $5, $6, false)
        on conflict (platform, external_ad_id) do update set
            publish_id = excluded.publish_id, campaign_id = excluded.campaign_id, ad_id = excluded.ad_id,
            account_id = coalesce(ad_reviews.account_id, excluded.account_id),
            dirty = ad_reviews.dirty or ad_reviews.review is not null, retry_at = null, updated_at = now()
        """,
        [(platform, ext, account_id, publish_id, campaign_id, ad_id) for ad_id, ext in ads.items()],
    )


async def observe(conn: asyncpg.Connection, platform: str, outcome: ReviewOutcome, source: str) -> None:
    """Record what a platform said about an ad; an older observation never replaces a newer one, and a
    delivery that says nothing definite only asks for the ad to be read."""
    if outcome.review is None:
        await conn.execute(
            """
            insert into ad_reviews (platform, external_ad_id, account_id, needs_detail, source, dirty)
            values ($1, $2, $3, true, $4, true)
            on conflict (platform, external_ad_id) do update set needs_detail = true, dirty = true,
                retry_at = null, account_id = coalesce(ad_reviews.account_id, excluded.account_id),
                source = coalesce(ad_reviews.source, excluded.source), updated_at = now()
            """,
            platform,
            outcome.external_ad_id,
            outcome.account_id,
            source,
        )
        return
    await conn.execute(
        """
        insert into ad_reviews (platform, external_ad_id, account_id, review, violations, suggestions, source,
            observed_at, needs_detail, dirty)
        values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, coalesce($8, now()), $9, true)
        on conflict (platform, external_ad_id) do update set
            review = excluded.review, violations = excluded.violations, suggestions = excluded.suggestions,
            source = excluded.source, observed_at = excluded.observed_at, needs_detail = excluded.needs_detail,
            account_id = coalesce(ad_reviews.account_id, excluded.account_id), dirty = true, retry_at = null,
            attempts = 0, updated_at = now()
        where ad_reviews.observed_at is null or excluded.observed_at >= ad_reviews.observed_at
            or ad_reviews.needs_detail
        """,
        platform,
        outcome.external_ad_id,
        outcome.account_id,
        outcome.review,
        orjson.dumps([v.model_dump(mode="json") for v in outcome.violations]).decode(),
        orjson.dumps(list(outcome.suggestions)).decode(),
        source,
        outcome.observed_at,
        not outcome.complete,
    )


async def pending(conn: asyncpg.Connection, limit: int) -> list[ReviewRow]:
    rows = await conn.fetch(
        """
        select * from ad_reviews where dirty and (retry_at is null or retry_at <= now())
        order by updated_at limit $1
        """,
        limit,
    )
    return [ReviewRow.of(r) for r in rows]


async def lock(conn: asyncpg.Connection, platform: str, external_ad_id: str) -> ReviewRow | None:
    row = await conn.fetchrow(
        "select * from ad_reviews where platform = $1 and external_ad_id = $2 for update",
        platform,
        external_ad_id,
    )
    return None if row is None else ReviewRow.of(row)


async def match(conn: asyncpg.Connection, row: ReviewRow) -> ReviewRow | None:
    """Attach an observed ad to the publish that created it; None while no publish of ours holds it."""
    found = await match_ad(conn, row.platform, row.external_ad_id)
    if found is None:
        return None
    await conn.execute(
        """
        update ad_reviews set publish_id = $3, campaign_id = $4, ad_id = $5, updated_at = now()
        where platform = $1 and external_ad_id = $2
        """,
        row.platform,
        row.external_ad_id,
        found.publish_id,
        found.campaign_id,
        found.ad_id,
    )
    return await lock(conn, row.platform, row.external_ad_id)


async def later(conn: asyncpg.Connection, row: ReviewRow, seconds: float, *, give_up: bool = False) -> None:
    await conn.execute(
        """
        update ad_reviews set retry_at = now() + make_interval(secs => $3), attempts = attempts + 1,
            dirty = not $4, updated_at = now()
        where platform = $1 and external_ad_id = $2
        """,
        row.platform,
        row.external_ad_id,
        seconds,
        give_up,
    )


def change_of(row: ReviewRow) -> AdReviewChanged | None:
    """The event this row's observation calls for, if any: a new review state (a first `pending` is
    not news: every ad starts in review)."""
    if row.review is None or row.review == row.emitted_review:
        return None
    if row.emitted_review is None and row.review == "pending":
        return None
    return AdReviewChanged(
        platform=Platform(row.platform),
        external_ad_id=row.external_ad_id,
        ad_id=row.ad_id,
        review=row.review,
        violations=[
            PolicyViolation.model_validate({**v, "ad_id": v.get("ad_id") or row.ad_id})
            for v in row.violations
        ],
        suggestions=row.suggestions,
        source="webhook" if row.source == "webhook" else "polling",
    )


def envelope_of(row: ReviewRow, change: AdReviewChanged) -> Envelope:
    assert row.publish_id is not None and row.campaign_id is not None
    version = row.emitted_version + 1
    return Envelope.new(
        change,
        campaign_id=row.campaign_id,
        publish_id=row.publish_id,
        event_id=stable_event_id(row.publish_id, "review", row.platform, row.external_ad_id, str(version)),
    )


async def settle(conn: asyncpg.Connection, row: ReviewRow, emitted: bool) -> None:
    """The row's observation is applied (and was emitted, or needed no event)."""
    await conn.execute(
        """
        update ad_reviews set dirty = false, retry_at = null, attempts = 0,
            emitted_review = case when $3 then review else emitted_review end,
            emitted_version = emitted_version + case when $3 then 1 else 0 end,
            emitted_at = case when $3 then now() else emitted_at end, updated_at = now()
        where platform = $1 and external_ad_id = $2
        """,
        row.platform,
        row.external_ad_id,
        emitted,
    )


async def ads_of(conn: asyncpg.Connection, publish_id: str, platform: str) -> list[ReviewRow]:
    rows = await conn.fetch(
        "select * from ad_reviews where publish_id = $1 and platform = $2 order by external_ad_id",
        publish_id,
        platform,
    )
    return [ReviewRow.of(r) for r in rows]


def still_open(rows: Sequence[ReviewRow]) -> bool:
    return any(r.review in OPEN for r in rows)


def _load(raw: Any) -> Any:
    return orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
