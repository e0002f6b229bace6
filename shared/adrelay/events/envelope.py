"""The envelope every message on every topic travels in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from adrelay.events.payloads import (
    PAYLOAD_TYPES,
    ActivateRequested,
    AdReviewChanged,
    CampaignPublishRequested,
    NotificationRequested,
    Payload,
    PerformanceSynced,
    PlatformActivated,
    PlatformPublishFailed,
    PlatformPublishProgressed,
    PlatformPublishSucceeded,
    PlatformRolledBack,
    PublishCampaign,
    PublishId,
    PublishStatusChanged,
    ReauthRequired,
    RollbackRequested,
)
from adrelay.model.campaign import Identifier

AnyPayload = Annotated[
    Union[  # noqa: UP007 - one member per line reads better in the schema
        PublishCampaign,
        CampaignPublishRequested,
        PlatformPublishProgressed,
        PlatformPublishSucceeded,
        PlatformPublishFailed,
        RollbackRequested,
        PlatformRolledBack,
        ActivateRequested,
        PlatformActivated,
        AdReviewChanged,
        PublishStatusChanged,
        ReauthRequired,
        PerformanceSynced,
        NotificationRequested,
    ],
    Field(discriminator="type"),
]

PAYLOADS_BY_TYPE: dict[str, type[Payload]] = {p.model_fields["type"].default: p for p in PAYLOAD_TYPES}

# An idempotent emitter derives event ids from what the event is about (uuid5 in this namespace).
EVENT_ID_NAMESPACE = uuid.UUID("6f1d1c55-2c3e-4b8e-9a53-0a1f2ad7e1a0")


class Envelope(BaseModel):
    """event id, type, schema version, time, campaign id, publish id, causation id, payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID
    type: str = Field(description="the payload type; equals payload.type")
    schema_version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+$")]
    occurred_at: AwareDatetime
    campaign_id: Identifier
    publish_id: PublishId | None = Field(
        default=None, description="one per publish attempt; the correlation id"
    )
    causation_id: uuid.UUID | None = Field(default=None, description="the event that caused this one")
    payload: AnyPayload

    @model_validator(mode="after")
    def _type_matches_payload(self) -> Envelope:
        if self.type != self.payload.type:
            raise ValueError(f"envelope type {self.type!r} does not match payload type {self.payload.type!r}")
        return self

    @classmethod
    def new(
        cls,
        payload: Payload,
        *,
        campaign_id: str,
        publish_id: str | None = None,
        causation: Envelope | uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        causation_id = causation.event_id if isinstance(causation, Envelope) else causation
        return cls(
            event_id=event_id or uuid.uuid4(),
            type=payload.type,  # type: ignore[attr-defined]
            schema_version=payload.SCHEMA_VERSION,
            occurred_at=occurred_at or datetime.now(UTC),
            campaign_id=campaign_id,
            publish_id=publish_id,
            causation_id=causation_id,
            payload=payload,
        )

    @property
    def topic(self) -> str:
        return type(self.payload).TOPIC.name

    @property
    def key(self) -> bytes:
        return self.campaign_id.encode()

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("event_id", str(self.event_id).encode()),
            ("event_type", self.type.encode()),
            ("schema_version", self.schema_version.encode()),
        ]

    def log_context(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event_type": self.type,
            "campaign_id": self.campaign_id,
            "publish_id": self.publish_id,
        }


def stable_event_id(*parts: str) -> uuid.UUID:
    """The same event about the same thing always gets the same id (the inbox then dedupes it)."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, "/".join(parts))
