"""The tracker service: which topic it consumes, its background loops and its webhook routes."""

from __future__ import annotations

from adrelay import topics
from adrelay.connections import ConnectionTokens
from adrelay.connections.wiring import connections_for
from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.messaging.service import ServiceRuntime
from adrelay.platforms.base import TokenSource
from adrelay.platforms.settings import PlatformSettings
from adrelay.tracker.applier import ReviewApplier
from adrelay.tracker.jobs import JobRunner
from adrelay.tracker.reads import PlatformReads
from adrelay.tracker.registration import WebhookRegistration
from adrelay.tracker.review_poll import ReviewPoll
from adrelay.tracker.schedule import PERFORMANCE, REVIEW, Schedule, replica_owner
from adrelay.tracker.settings import TrackerSettings
from adrelay.tracker.status import StatusHandler
from adrelay.tracker.sync import PerformanceSync
from adrelay.tracker.tracking import TrackedCampaign
from adrelay.tracker.webhooks import WebhookReceiver

SERVICE = "tracker"


def build() -> ServiceRuntime:
    runtime = ServiceRuntime(SERVICE)
    settings = TrackerSettings()
    platforms = PlatformSettings()
    limiter = PostgresLimiter(runtime.db)
    manager = connections_for(runtime, platforms, limiter)
    schedule = Schedule(runtime.db, replica_owner(), settings.lease_s)
    reads = PlatformReads(platforms, limiter, report_mode=settings.report_mode)

    def campaign_tokens(campaign: TrackedCampaign) -> TokenSource:
        return ConnectionTokens(
            manager, campaign.connection_id, campaign_id=campaign.campaign_id, publish_id=campaign.publish_id
        )

    def connection_tokens(connection_id: str, campaign_id: str | None, publish_id: str | None) -> TokenSource:
        return ConnectionTokens(manager, connection_id, campaign_id=campaign_id, publish_id=publish_id)

    sync = PerformanceSync(
        runtime.db,
        schedule,
        reads,
        settings,
        emit=runtime.emit,
        tokens_for=campaign_tokens,
    )
    poll = ReviewPoll(runtime.db, schedule, reads, emit=runtime.emit, tokens_for=campaign_tokens)
    applier = ReviewApplier(runtime.db, reads, settings, emit=runtime.emit, tokens_for=connection_tokens)
    registration = WebhookRegistration(settings, platforms, limiter, manager)
    receiver = WebhookReceiver(runtime.db, platforms, settings, on_outcomes=applier.wake.set)
    runner = JobRunner(
        schedule,
        {PERFORMANCE: sync.run, REVIEW: poll.run},
        concurrency=settings.concurrency,
        poll_s=settings.poll_s,
    )

    runtime.subscribe(
        topics.STATUS,
        StatusHandler(settings, schedule, on_account=registration.account_seen),
        {"PublishStatusChanged"},
    )
    runtime.background("tracking-jobs", runner.run)
    runtime.background("review-outcomes", applier.run)
    runtime.background("webhook-registration", registration.run)
    runtime.background("webhook-retention", receiver.prune)
    runtime.add_routes(receiver.routes())
    return runtime
