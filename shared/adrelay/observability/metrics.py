"""The services' own Prometheus metrics. Names are what the Grafana dashboard and alerts query."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PROCESSED = Counter(
    "adrelay_events_processed_total", "Events applied by a consumer", ["service", "topic", "event_type"]
)
EVENTS_SKIPPED = Counter(
    "adrelay_events_skipped_total",
    "Events not applied: duplicates, other platforms, unknown types",
    ["service", "topic", "reason"],
)
EVENTS_FAILED = Counter(
    "adrelay_events_failed_total",
    "Handling attempts that failed (retried in place or dead-lettered)",
    ["service", "topic", "kind"],
)
DLQ_MESSAGES = Counter(
    "adrelay_dlq_messages_total", "Messages written to a dead-letter topic", ["service", "topic"]
)
OUTBOX_PUBLISHED = Counter("adrelay_outbox_published_total", "Outbox rows relayed to Kafka", ["service"])
OUTBOX_FAILED = Counter(
    "adrelay_outbox_failed_total", "Outbox rows set aside because Kafka can never take them", ["service"]
)
CONSUMER_STALL_RESTARTS = Gauge(
    "adrelay_consumer_stall_restarts",
    "Times this process restarted itself in place because its consumer stalled (kept across the restart)",
    ["service"],
)
OUTBOX_PENDING = Gauge("adrelay_outbox_pending", "Outbox rows not yet relayed", ["service"])
OUTBOX_RELAY_OWNER = Gauge(
    "adrelay_outbox_relay_owner", "1 while this process owns the outbox relay", ["service"]
)
HANDLER_SECONDS = Histogram(
    "adrelay_handler_seconds",
    "Time to apply one event",
    ["service", "topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
