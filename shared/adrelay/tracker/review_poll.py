"""The review polling job: reads every ad of a tracked campaign (the fallback when webhooks are late,
lost or not registered, and the only source on Snapchat) and applies what changed, in the job's
fenced transaction. Polls every `review_poll_s` while a review is open, at the sync interval after."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from adrelay.model import Platform
from adrelay.platforms.base import TokenSource
from adrelay.storage.db import Database
from adrelay.tracker import reviews, tracking
from adrelay.tracker.applier import apply_row
from adrelay.tracker.reads import PlatformReads
from adrelay.tracker.schedule import PERFORMANCE, Job, Schedule
from adrelay.tracker.tracking import TrackedCampaign

Emit = Callable[..., Awaitable[None]]
TokensFor = Callable[[TrackedCampaign], TokenSource]


class ReviewPoll:
    def __init__(
        self, db: Database, schedule: Schedule, reads: PlatformReads, *, emit: Emit, tokens_for: TokensFor
    ) -> None:
        self.db = db
        self.schedule = schedule
        self.reads = reads
        self.emit = emit
        self.tokens_for = tokens_for

    async def run(self, job: Job) -> None:
        async with self.db.connection() as conn:
            campaign = await tracking.load(conn, job.publish_id, job.platform)
            ads = await reviews.ads_of(conn, job.publish_id, job.platform)
        if campaign is None or not campaign.active:
            async with self.db.transaction() as conn:
                await self.schedule.fence(conn, job)
                await self.schedule.done(conn, job, None)
            return
        outcomes = await self.reads.ad_reviews(
            Platform(campaign.platform),
            self.tokens_for(campaign),
            campaign.account_id,
            [a.external_ad_id for a in ads],
            connection_id=campaign.connection_id,
        )
        async with self.db.transaction() as conn:
            await self.schedule.fence(conn, job)
            for outcome in outcomes:
                await reviews.observe(conn, campaign.platform, outcome, "polling")
                row = await reviews.lock(conn, campaign.platform, outcome.external_ad_id)
                if row is not None and row.publish_id is not None:
                    await apply_row(conn, row, self.emit)
            after = await reviews.ads_of(conn, job.publish_id, job.platform)
            interval = job.interval_s
            if not reviews.still_open(after):
                settled = await conn.fetchval(
                    """
                    select interval_s from tracking_schedule
                    where publish_id = $1 and platform = $2 and job = $3
                    """,
                    job.publish_id,
                    job.platform,
                    PERFORMANCE,
                )
                interval = max(interval, float(settled or interval))
            await self.schedule.done(conn, job, datetime.now(UTC) + timedelta(seconds=interval))
