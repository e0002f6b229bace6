"""One performance sync of one tracked campaign on one platform.

Reads the platform's daily report for the campaign and everything under it over the account's own
days (its time zone: the first sync from the publish's day, later ones the last attribution-window
days again, since conversions still arrive for them), upserts the rows, updates the lifetime totals and
emits PerformanceSynced — all in one transaction that holds the job's lease (fencing token), so a
replica that lost the job writes nothing. The sync after the campaign's end plus the attribution
window is the last one; a campaign found deleted on the platform stops being tracked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from adrelay.events import Envelope, PerformanceSynced
from adrelay.events.envelope import stable_event_id
from adrelay.model import Platform
from adrelay.platforms.base import TokenSource
from adrelay.platforms.errors import PlatformCallError
from adrelay.storage.db import Database
from adrelay.tracker import metrics, tracking
from adrelay.tracker.accounts import AccountInfo, AccountReads
from adrelay.tracker.reads import PlatformReads
from adrelay.tracker.schedule import Job, Schedule
from adrelay.tracker.settings import TrackerSettings
from adrelay.tracker.tracking import TrackedCampaign

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[None]]
TokensFor = Callable[[TrackedCampaign], TokenSource]


def sync_range(
    campaign: TrackedCampaign, zone: ZoneInfo, now: datetime, lookback_days: int
) -> tuple[date, date]:
    """The account's days to read now: from the publish's day on the first sync, else the last
    `lookback_days` (from the last day read, if that is earlier: a tracker down for long leaves no
    gap); up to today, or to the day tracking ends."""
    today = now.astimezone(zone).date()
    first_day = campaign.since.astimezone(zone).date()
    last_day = today
    if campaign.track_until is not None:
        last_day = min(today, campaign.track_until.astimezone(zone).date())
    if campaign.synced_through is None:
        start = first_day
    else:
        start = max(first_day, min(campaign.synced_through, today - timedelta(days=lookback_days)))
    return min(start, last_day), last_day


def next_run(campaign: TrackedCampaign, job: Job, now: datetime) -> datetime | None:
    """None after the last sync (the window closed); else the interval on, but never past the end."""
    if campaign.track_until is not None and now >= campaign.track_until:
        return None
    due = now + timedelta(seconds=job.interval_s)
    return min(due, campaign.track_until) if campaign.track_until is not None else due


class PerformanceSync:
    def __init__(
        self,
        db: Database,
        schedule: Schedule,
        reads: PlatformReads,
        settings: TrackerSettings,
        *,
        emit: Emit,
        tokens_for: TokensFor,
    ) -> None:
        self.db = db
        self.schedule = schedule
        self.reads = reads
        self.settings = settings
        self.emit = emit
        self.tokens_for = tokens_for
        self.accounts = AccountReads(reads)

    async def run(self, job: Job) -> None:
        async with self.db.connection() as conn:
            campaign = await tracking.load(conn, job.publish_id, job.platform)
        if campaign is None or not campaign.active:
            async with self.db.transaction() as conn:
                await self.schedule.fence(conn, job)
                await self.schedule.done(conn, job, None)
            return
        platform = Platform(campaign.platform)
        tokens = self.tokens_for(campaign)
        account = (
            AccountInfo(campaign.currency, campaign.time_zone)
            if campaign.currency and campaign.time_zone
            else await self.accounts.account(
                platform, tokens, campaign.account_id, connection_id=campaign.connection_id
            )
        )
        now = datetime.now(UTC)
        start, end = sync_range(campaign, ZoneInfo(account.time_zone), now, self.settings.lookback_days)
        deleted = await self.reads.campaign_deleted(
            platform,
            tokens,
            campaign.account_id,
            campaign.external_campaign_id,
            connection_id=campaign.connection_id,
        )
        try:
            rows = await self.reads.daily_metrics(
                platform,
                tokens,
                campaign.account_id,
                campaign.external_campaign_id,
                start,
                end,
                time_zone=account.time_zone,
                connection_id=campaign.connection_id,
            )
        except PlatformCallError as exc:
            if not deleted:
                raise
            # Some platforms report nothing for a deleted campaign: the days synced before remain.
            log.info("no report for deleted campaign %s: %s", campaign.external_campaign_id, exc)
            rows = []
        owner = metrics.Owner(
            campaign.publish_id,
            campaign.platform,
            campaign.campaign_id,
            campaign.account_id,
            account.currency,
            account.time_zone,
        )
        async with self.db.transaction() as conn:
            await self.schedule.fence(conn, job)
            if not (campaign.currency and campaign.time_zone):
                await tracking.set_account(
                    conn, campaign.publish_id, campaign.platform, account.currency, account.time_zone
                )
            upserted = await metrics.upsert(conn, owner, rows)
            totals, _, _ = await metrics.totals(
                conn, campaign.publish_id, campaign.platform, campaign.external_campaign_id
            )
            first_day = campaign.since.astimezone(ZoneInfo(account.time_zone)).date()
            await tracking.synced(conn, campaign.publish_id, campaign.platform, totals, first_day, end)
            payload = PerformanceSynced(
                platform=platform,
                currency=account.currency,
                time_zone=account.time_zone,
                date_from=min(first_day, end),
                date_to=end,
                totals=totals,
                rows=upserted,
            )
            await self.emit(
                conn,
                Envelope.new(
                    payload,
                    campaign_id=campaign.campaign_id,
                    publish_id=campaign.publish_id,
                    event_id=stable_event_id(
                        campaign.publish_id, "performance", campaign.platform, str(job.runs + 1)
                    ),
                ),
            )
            following = None if deleted else next_run(campaign, job, now)
            if following is None:
                reason = "deleted_on_platform" if deleted else "window_closed"
                await tracking.stop(conn, campaign.publish_id, campaign.platform, reason)
                log.info("tracking of %s on %s ends: %s", campaign.publish_id, campaign.platform, reason)
            await self.schedule.done(conn, job, following)
        log.info(
            "synced %s on %s: %d rows for %s..%s, %d impressions",
            campaign.publish_id,
            campaign.platform,
            upserted,
            start,
            end,
            totals.impressions,
        )
