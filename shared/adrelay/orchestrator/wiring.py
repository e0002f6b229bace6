"""The orchestrator service: which topics it consumes, its background loops, its HTTP API."""

from __future__ import annotations

from adrelay import topics
from adrelay.connections import PRODUCER as CONNECTIONS_PRODUCER
from adrelay.connections.http import routes as connection_routes
from adrelay.connections.wiring import connections_for
from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.messaging.outbox import OutboxRelay
from adrelay.messaging.service import ServiceRuntime
from adrelay.model import Platform
from adrelay.orchestrator import api
from adrelay.orchestrator.core import Orchestrator
from adrelay.orchestrator.notify import sinks_from_env
from adrelay.platforms.registry import adapter_for
from adrelay.platforms.settings import PlatformSettings

SERVICE = "orchestrator"
RESULT_TYPES = {
    "PlatformPublishProgressed",
    "PlatformPublishSucceeded",
    "PlatformPublishFailed",
    "PlatformRolledBack",
    "PlatformActivated",
    "AdReviewChanged",
}


def build() -> ServiceRuntime:
    runtime = ServiceRuntime(SERVICE)
    settings = PlatformSettings()
    limiter = PostgresLimiter(runtime.db)
    adapters = {p: adapter_for(p, settings, limiter) for p in Platform}
    connections = connections_for(runtime, settings, limiter)
    orchestrator = Orchestrator(runtime, adapters, connections, sinks_from_env())

    runtime.subscribe(topics.COMMANDS, orchestrator.on_command, {"PublishCampaign"})
    runtime.subscribe(topics.PLATFORM_RESULTS, orchestrator.on_result, RESULT_TYPES)
    runtime.subscribe(
        topics.NOTIFICATIONS, orchestrator.on_notification, {"NotificationRequested", "ReauthRequired"}
    )
    runtime.background("publish-checks", orchestrator.check_loop)
    runtime.background("deadlines", orchestrator.deadline_loop)
    # Events the connections module decides to emit (ReauthRequired) are relayed from here.
    relay = OutboxRelay(
        runtime.settings.database_url,
        CONNECTIONS_PRODUCER,
        runtime.kafka,
        poll_interval_s=runtime.settings.outbox_poll_s,
    )
    runtime.background("connections-outbox-relay", relay.run)
    runtime.add_routes(api.routes(orchestrator) + connection_routes(connections))
    return runtime
