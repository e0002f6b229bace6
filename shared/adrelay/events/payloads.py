"""Payloads of every event and command in the publishing flow.

Each payload class names its topic and its schema version (`major.minor`). Within a major version
changes are additive only: a new field is optional with a default, so an older consumer ignores it
and a newer consumer reads an older event. A breaking change is a new major version.

No payload carries a token or secret: events name connections by id; publishers read tokens from
PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adrelay import topics
from adrelay.model import Campaign, GoLivePolicy, PartialFailurePolicy, Platform, PlatformTarget
from adrelay.model.campaign import Identifier

PublishId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class Payload(BaseModel):
    """Base of every payload: unknown fields are ignored (forward compatibility)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TOPIC: ClassVar[topics.TopicSpec]
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        """PostgreSQL text cannot hold U+0000: refuse it here, with a field path, not deep in a handler."""
        path = _nul_path(data, "")
        if path is not None:
            raise ValueError(f"NUL character (U+0000) in {path or 'the payload'}")
        return data


def _nul_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_path(key, path) if isinstance(key, str) and "\x00" in key else None
            found = found if found is not None else _nul_path(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


# ---- shared parts ------------------------------------------------------------------------------
class PublishStatus(StrEnum):
    """The aggregate state of one publish (one publish id)."""

    RECEIVED = "received"
    REJECTED = "rejected"  # validation failed; nothing was written anywhere
    AWAITING_REAUTH = "awaiting_reauth"  # a connection needs a person to re-authenticate
    PUBLISHING = "publishing"
    ACTIVATING = "activating"
    PUBLISHED = "published"
    PARTIALLY_PUBLISHED = "partially_published"  # keep_successful and at least one platform failed
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    NEEDS_MANUAL_CLEANUP = "needs_manual_cleanup"
    FAILED = "failed"  # every platform failed and nothing was created

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        PublishStatus.REJECTED,
        PublishStatus.PUBLISHED,
        PublishStatus.PARTIALLY_PUBLISHED,
        PublishStatus.ROLLED_BACK,
        PublishStatus.NEEDS_MANUAL_CLEANUP,
        PublishStatus.FAILED,
    }
)


class PlatformState(StrEnum):
    """The state of one platform within a publish."""

    PENDING = "pending"
    AWAITING_REAUTH = "awaiting_reauth"
    PUBLISHING = "publishing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ACTIVATING = "activating"
    ACTIVE = "active"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    NEEDS_MANUAL_CLEANUP = "needs_manual_cleanup"


class ErrorCategory(StrEnum):
    """The one error taxonomy every platform's errors are classified into."""

    AUTH = "auth"
    PERMISSION = "permission"
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    POLICY_VIOLATION = "policy_violation"
    BUDGET = "budget"  # budget too low, account unfunded, billing
    VALIDATION = "validation"
    UNKNOWN = "unknown"


class PolicyViolation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Literal["text", "image", "video", "targeting", "landing_page", "other"] = "other"
    message: str
    ad_id: Identifier | None = None


class PlatformError(BaseModel):
    """A classified platform error as users and operators see it (never a token)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    category: ErrorCategory
    message: str
    platform_code: str | None = None
    platform_subcode: str | None = None
    title: str | None = None
    blamed_fields: list[str] = Field(default_factory=list)
    trace_id: str | None = None
    retryable: bool = False
    minimum_budget: str | None = Field(default=None, description="the platform's minimum, when known")
    violations: list[PolicyViolation] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
    step: str | None = Field(default=None, description="the workflow step that failed")


class ValidationIssue(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    path: str = Field(description="dotted field path, e.g. ad_sets[0].budget.amount")
    message: str
    platform: Platform | None = None
    severity: Literal["error", "warning"] = "error"


class ExternalIds(BaseModel):
    """Every platform id a publish created, keyed by adrelay's own ids."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    account_id: str | None = None
    campaign: str | None = None
    ad_sets: dict[str, str] = Field(default_factory=dict)
    creatives: dict[str, str] = Field(default_factory=dict)
    ads: dict[str, str] = Field(default_factory=dict)
    media: dict[str, str] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.campaign or self.ad_sets or self.creatives or self.ads)


class LeftObject(BaseModel):
    """An object a rollback could not remove, and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str
    external_id: str
    reason: str


# ---- commands and events -----------------------------------------------------------------------
class PublishCampaign(Payload):
    """Command from upstream: publish this campaign to these platforms."""

    TOPIC = topics.COMMANDS

    type: Literal["PublishCampaign"] = "PublishCampaign"
    idempotency_key: Annotated[str, Field(min_length=1, max_length=200)]
    campaign: Campaign
    targets: list[PlatformTarget] = Field(min_length=1, max_length=3)
    partial_failure_policy: PartialFailurePolicy = PartialFailurePolicy.ROLLBACK
    go_live_policy: GoLivePolicy = GoLivePolicy.ACTIVATE_WHEN_ALL_SUCCEEDED
    requested_by: Annotated[str, Field(max_length=200)] | None = None


class CampaignPublishRequested(Payload):
    """The orchestrator's fan-out: one per publish, read by every publisher."""

    TOPIC = topics.PUBLISH_REQUESTED

    type: Literal["CampaignPublishRequested"] = "CampaignPublishRequested"
    campaign: Campaign
    targets: list[PlatformTarget] = Field(min_length=1, max_length=3)
    only_platforms: list[Platform] | None = Field(
        default=None, description="a retry of some platforms only; None = every target"
    )
    attempt: int = Field(default=1, ge=1, le=1000)


class PlatformPublishProgressed(Payload):
    """Heartbeat from a publisher: a step started or finished, or a durable wait began."""

    TOPIC = topics.PLATFORM_RESULTS

    type: Literal["PlatformPublishProgressed"] = "PlatformPublishProgressed"
    platform: Platform
    step: str
    step_state: Literal["started", "succeeded", "waiting", "retrying", "failed"]
    steps_done: int = Field(ge=0, le=100_000)
    steps_total: int = Field(ge=0, le=100_000)
    detail: str | None = None
    wait_until: datetime | None = None


class PlatformPublishSucceeded(Payload):
    TOPIC = topics.PLATFORM_RESULTS

    type: Literal["PlatformPublishSucceeded"] = "PlatformPublishSucceeded"
    platform: Platform
    external_ids: ExternalIds


class PlatformPublishFailed(Payload):
    TOPIC = topics.PLATFORM_RESULTS

    type: Literal["PlatformPublishFailed"] = "PlatformPublishFailed"
    platform: Platform
    error: PlatformError
    external_ids: ExternalIds = Field(
        default_factory=ExternalIds, description="what was created before the failure"
    )
    created_anything: bool = False
    outcome_unknown_steps: list[str] = Field(
        default_factory=list, description="steps whose create may have happened (found by tag on rollback)"
    )


class RollbackRequested(Payload):
    TOPIC = topics.PLATFORM_COMMANDS

    type: Literal["RollbackRequested"] = "RollbackRequested"
    platform: Platform
    reason: str


class PlatformRolledBack(Payload):
    TOPIC = topics.PLATFORM_RESULTS

    type: Literal["PlatformRolledBack"] = "PlatformRolledBack"
    platform: Platform
    outcome: Literal["rolled_back", "needs_manual_cleanup"]
    deleted: list[str] = Field(default_factory=list, description="external ids removed")
    left: list[LeftObject] = Field(default_factory=list)


class ActivateRequested(Payload):
    TOPIC = topics.PLATFORM_COMMANDS

    type: Literal["ActivateRequested"] = "ActivateRequested"
    platform: Platform


class PlatformActivated(Payload):
    TOPIC = topics.PLATFORM_RESULTS

    type: Literal["PlatformActivated"] = "PlatformActivated"
    platform: Platform
    ok: bool = True
    error: PlatformError | None = None


class AdReviewChanged(Payload):
    """An ad's review outcome, from a platform webhook or from polling (tracker)."""

    TOPIC = topics.PLATFORM_RESULTS

    type: Literal["AdReviewChanged"] = "AdReviewChanged"
    platform: Platform
    external_ad_id: str
    ad_id: Identifier | None = None
    review: Literal["pending", "approved", "disapproved"]
    violations: list[PolicyViolation] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
    source: Literal["webhook", "polling"]


class PublishStatusChanged(Payload):
    TOPIC = topics.STATUS

    type: Literal["PublishStatusChanged"] = "PublishStatusChanged"
    status: PublishStatus
    previous_status: PublishStatus | None = None
    platforms: dict[Platform, PlatformState] = Field(default_factory=dict)
    reason: str | None = None
    issues: list[ValidationIssue] = Field(default_factory=list)
    errors: dict[Platform, PlatformError] = Field(default_factory=dict)
    external_ids: dict[Platform, ExternalIds] = Field(default_factory=dict)
    campaign_end_time: datetime | None = None


class ReauthRequired(Payload):
    """A connection's token cannot be refreshed: a person must re-authenticate. Never the token."""

    TOPIC = topics.NOTIFICATIONS

    type: Literal["ReauthRequired"] = "ReauthRequired"
    connection_id: Identifier
    platform: Platform
    ad_account_ids: list[str] = Field(default_factory=list)
    reason: str


class MetricTotals(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    impressions: int = 0
    clicks: int = 0
    spend_micros: int = 0
    conversions: int = 0


class PerformanceSynced(Payload):
    TOPIC = topics.PERFORMANCE

    type: Literal["PerformanceSynced"] = "PerformanceSynced"
    platform: Platform
    currency: str
    time_zone: str
    date_from: date
    date_to: date
    totals: MetricTotals
    rows: int = Field(ge=0, description="day-by-level rows upserted")


class NotificationRequested(Payload):
    TOPIC = topics.NOTIFICATIONS

    type: Literal["NotificationRequested"] = "NotificationRequested"
    kind: Literal["published", "failed", "rolled_back", "needs_manual_cleanup", "rejected",
                  "reauth_required", "policy_violation", "partially_published"]  # fmt: skip
    title: str
    message: str
    platform_errors: dict[Platform, PlatformError] = Field(default_factory=dict)


PAYLOAD_TYPES: tuple[type[Payload], ...] = (
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
)
