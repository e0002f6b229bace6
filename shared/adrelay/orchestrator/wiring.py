"""Which topics the orchestrator consumes and what it does with them."""

from __future__ import annotations

import uuid

import asyncpg

from adrelay import topics
from adrelay.events import (
    CampaignPublishRequested,
    Envelope,
    PublishCampaign,
    PublishStatus,
    PublishStatusChanged,
    stable_event_id,
)
from adrelay.messaging.service import ServiceRuntime

SERVICE = "orchestrator"


def build() -> ServiceRuntime:
    runtime = ServiceRuntime(SERVICE)

    async def on_command(envelope: Envelope, conn: asyncpg.Connection) -> None:
        command = envelope.payload
        assert isinstance(command, PublishCampaign)
        publish_id = f"pub-{uuid.uuid5(uuid.NAMESPACE_URL, str(envelope.event_id)).hex[:20]}"
        campaign_id = command.campaign.id
        requested = CampaignPublishRequested(campaign=command.campaign, targets=command.targets)
        await runtime.emit(
            conn,
            Envelope.new(
                requested,
                campaign_id=campaign_id,
                publish_id=publish_id,
                causation=envelope,
                event_id=stable_event_id(publish_id, "requested"),
            ),
        )
        status = PublishStatusChanged(status=PublishStatus.PUBLISHING, previous_status=PublishStatus.RECEIVED)
        await runtime.emit(
            conn,
            Envelope.new(
                status,
                campaign_id=campaign_id,
                publish_id=publish_id,
                causation=envelope,
                event_id=stable_event_id(publish_id, "status", "publishing"),
            ),
        )

    async def on_result(envelope: Envelope, conn: asyncpg.Connection) -> None:
        return None

    runtime.subscribe(topics.COMMANDS, on_command, {"PublishCampaign"})
    runtime.subscribe(topics.PLATFORM_RESULTS, on_result)
    return runtime
