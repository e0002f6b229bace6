"""What the tracker does with a publish's status: `published` (and `partially_published`) starts
tracking each platform that holds the campaign — metric record, schedule, attribution, review rows —
and `rolled_back` / `needs_manual_cleanup` stop it. Runs inside the inbox transaction: it only writes
PostgreSQL; every platform call happens later, in the scheduled jobs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from adrelay.events import Envelope, PublishStatusChanged
from adrelay.events.payloads import PlatformState, PublishStatus
from adrelay.tracker import attribution, reviews, tracking
from adrelay.tracker.publishes import publish_record
from adrelay.tracker.schedule import PERFORMANCE, REVIEW, Schedule
from adrelay.tracker.settings import TrackerSettings

log = logging.getLogger(__name__)

STARTS = frozenset({PublishStatus.PUBLISHED, PublishStatus.PARTIALLY_PUBLISHED})
STOPS = {
    PublishStatus.ROLLED_BACK: "rolled_back",
    PublishStatus.NEEDS_MANUAL_CLEANUP: "needs_manual_cleanup",
}
HOLDS_CAMPAIGN = frozenset({PlatformState.SUCCEEDED, PlatformState.ACTIVE})


class StatusHandler:
    def __init__(
        self,
        settings: TrackerSettings,
        schedule: Schedule,
        *,
        on_account: Callable[[str, str], None] = lambda platform, account: None,
    ) -> None:
        self.settings = settings
        self.schedule = schedule
        self.on_account = on_account  # a tracked account's webhooks should be registered

    async def __call__(self, envelope: Envelope, conn: asyncpg.Connection) -> None:
        payload = envelope.payload
        if not isinstance(payload, PublishStatusChanged) or envelope.publish_id is None:
            return
        if payload.status in STOPS:
            stopped = await tracking.stop(conn, envelope.publish_id, None, STOPS[payload.status])
            if stopped:
                log.info("tracking of publish %s stopped: %s", envelope.publish_id, payload.status.value)
            return
        if payload.status in STARTS:
            await self._start(envelope, payload, conn)

    async def _start(
        self, envelope: Envelope, payload: PublishStatusChanged, conn: asyncpg.Connection
    ) -> None:
        publish_id = envelope.publish_id
        assert publish_id is not None
        record = await publish_record(conn, publish_id)
        if record is None:
            log.warning("publish %s is not in the orchestrator's records; not tracked", publish_id)
            return
        campaign = record.command.campaign
        end = payload.campaign_end_time or campaign.schedule.end_time
        track_until = end + timedelta(days=self.settings.attribution_window_days) if end else None
        now = datetime.now(UTC)
        for platform, ids in payload.external_ids.items():
            if payload.platforms.get(platform) not in HOLDS_CAMPAIGN or not ids.campaign:
                continue
            target = next((t for t in record.command.targets if t.platform == platform), None)
            if target is None:
                continue
            started = await tracking.start(
                conn,
                publish_id=publish_id,
                platform=platform.value,
                campaign_id=campaign.id,
                connection_id=target.connection_id,
                account_id=target.account_id,
                external_campaign_id=ids.campaign,
                since=min(record.created_at, now),
                track_until=track_until,
            )
            if not started:
                continue
            first = now + timedelta(seconds=self.settings.first_delay_s)
            await self.schedule.add(
                conn, publish_id, platform.value, PERFORMANCE, first, self.settings.interval_s
            )
            review_first = now + timedelta(seconds=self.settings.review_poll_s)
            await self.schedule.add(
                conn, publish_id, platform.value, REVIEW, review_first, self.settings.review_poll_s
            )
            await attribution.record(conn, publish_id, platform, campaign, ids.ads)
            await reviews.register_ads(
                conn, platform.value, publish_id, campaign.id, target.account_id, ids.ads
            )
            self.on_account(platform.value, target.account_id)
            log.info(
                "tracking publish %s on %s: first sync at %s, until %s",
                publish_id,
                platform.value,
                first.isoformat(),
                track_until.isoformat() if track_until else "the campaign is deleted",
            )
