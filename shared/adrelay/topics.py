"""The topic catalogue: the one declaration of every Kafka topic adrelay uses.

Services subscribe through it, `adrelay topics create` (and `make up`) creates topics from it, and
the Kubernetes KafkaTopic manifests are rendered from it. Every topic is keyed by campaign id, so all
events of one campaign keep their order on one partition. Each consumed topic has a dead-letter
topic `<name>.dlq` for messages that can never be processed, with the reason in the headers.

`ADRELAY_TOPIC_PREFIX` namespaces every name (tests use a fresh prefix per run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    key: str  # stable logical name used in code
    base_name: str
    partitions: int
    retention_ms: int
    cleanup_policy: str = "delete"
    description: str = ""
    producers: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()
    has_dlq: bool = True
    extra_config: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return prefixed(self.base_name)

    @property
    def dlq_name(self) -> str:
        return prefixed(dlq_of(self.base_name))

    def config(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
            **self.extra_config,
        }


def prefixed(name: str) -> str:
    return os.environ.get("ADRELAY_TOPIC_PREFIX", "") + name


def dlq_of(name: str) -> str:
    return f"{name}.dlq"


DLQ_RETENTION_MS = 30 * DAY_MS
DLQ_PARTITIONS = 1

COMMANDS = TopicSpec(
    key="commands",
    base_name="adrelay.campaigns.commands",
    partitions=6,
    retention_ms=7 * DAY_MS,
    description="PublishCampaign commands from upstream services, the CLI and the HTTP API",
    producers=("upstream", "orchestrator-http", "cli"),
    consumers=("orchestrator",),
)
PUBLISH_REQUESTED = TopicSpec(
    key="publish_requested",
    base_name="adrelay.campaigns.publish-requested",
    partitions=6,
    retention_ms=7 * DAY_MS,
    description="CampaignPublishRequested: one per publish, for all its target platforms",
    producers=("orchestrator",),
    consumers=("meta-publisher", "tiktok-publisher", "snapchat-publisher"),
)
PLATFORM_RESULTS = TopicSpec(
    key="platform_results",
    base_name="adrelay.campaigns.platform-results",
    partitions=6,
    retention_ms=7 * DAY_MS,
    description="What the publishers report: progress heartbeats, succeeded, failed, rolled back, "
    "activated; and ad review outcomes from the tracker",
    producers=("meta-publisher", "tiktok-publisher", "snapchat-publisher", "tracker"),
    consumers=("orchestrator",),
)
PLATFORM_COMMANDS = TopicSpec(
    key="platform_commands",
    base_name="adrelay.campaigns.platform-commands",
    partitions=6,
    retention_ms=7 * DAY_MS,
    description="RollbackRequested and ActivateRequested for one platform of one publish",
    producers=("orchestrator",),
    consumers=("meta-publisher", "tiktok-publisher", "snapchat-publisher"),
)
STATUS = TopicSpec(
    key="status",
    base_name="adrelay.campaigns.status",
    partitions=6,
    retention_ms=14 * DAY_MS,
    description="PublishStatusChanged: the aggregate state of each publish",
    producers=("orchestrator",),
    consumers=("tracker",),
)
PERFORMANCE = TopicSpec(
    key="performance",
    base_name="adrelay.campaigns.performance",
    partitions=6,
    retention_ms=14 * DAY_MS,
    description="PerformanceSynced: normalised metrics after each sync",
    producers=("tracker",),
    consumers=(),
    has_dlq=False,
)
NOTIFICATIONS = TopicSpec(
    key="notifications",
    base_name="adrelay.notifications",
    partitions=3,
    retention_ms=14 * DAY_MS,
    description="NotificationRequested and ReauthRequired: a person should know or act",
    producers=("orchestrator", "meta-publisher", "tiktok-publisher", "snapchat-publisher", "tracker"),
    consumers=("orchestrator",),
)

CATALOGUE: tuple[TopicSpec, ...] = (
    COMMANDS,
    PUBLISH_REQUESTED,
    PLATFORM_RESULTS,
    PLATFORM_COMMANDS,
    STATUS,
    PERFORMANCE,
    NOTIFICATIONS,
)
BY_KEY = {t.key: t for t in CATALOGUE}


@dataclass(frozen=True)
class TopicDeclaration:
    """A topic as the broker sees it: name, partitions and config (DLQs included)."""

    name: str
    partitions: int
    config: dict[str, str]
    description: str
    dlq_of: str | None = None


def declarations() -> list[TopicDeclaration]:
    """Every topic to create, dead-letter topics included, with the current prefix applied."""
    out: list[TopicDeclaration] = []
    for spec in CATALOGUE:
        out.append(TopicDeclaration(spec.name, spec.partitions, spec.config(), spec.description))
        if spec.has_dlq:
            out.append(
                TopicDeclaration(
                    spec.dlq_name,
                    DLQ_PARTITIONS,
                    {"retention.ms": str(DLQ_RETENTION_MS), "cleanup.policy": "delete"},
                    f"dead letters of {spec.name}",
                    dlq_of=spec.name,
                )
            )
    return out
