"""Which topics a publisher consumes and what it does with them (the same for every platform)."""

from __future__ import annotations

import asyncpg

from adrelay import topics
from adrelay.events import CampaignPublishRequested, Envelope, PlatformPublishProgressed, stable_event_id
from adrelay.messaging.service import ServiceRuntime
from adrelay.model import Platform


def build(platform: Platform) -> ServiceRuntime:
    runtime = ServiceRuntime(f"{platform.value}-publisher")

    async def on_publish_requested(envelope: Envelope, conn: asyncpg.Connection) -> None:
        request = envelope.payload
        assert isinstance(request, CampaignPublishRequested)
        if platform not in {t.platform for t in request.targets}:
            return
        progressed = PlatformPublishProgressed(
            platform=platform, step="received", step_state="succeeded", steps_done=0, steps_total=0
        )
        await runtime.emit(
            conn,
            Envelope.new(
                progressed,
                campaign_id=envelope.campaign_id,
                publish_id=envelope.publish_id,
                causation=envelope,
                event_id=stable_event_id(str(envelope.publish_id), platform.value, "received"),
            ),
        )

    runtime.subscribe(topics.PUBLISH_REQUESTED, on_publish_requested, {"CampaignPublishRequested"})
    return runtime
