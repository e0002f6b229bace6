"""Sandbox configuration: latency, rate limits, review timing and the switches for unconfirmed rules.

Every behaviour that `../shared/docs/platform-apis.md` or `lookup-by-tag.md` marks UNCONFIRMED is a
named switch in `switches`, so tests can exercise both readings and the note can list them.
Values come from defaults, then an optional JSON config file, then `POST /_sandbox/config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SandboxConfig:
    base_latency_ms: int = 0
    jitter_ms: int = 0
    list_read_lag_ms: int = 0  # objects younger than this are not yet listed (real lists trail writes)
    review_delay_s: float = 1.0  # creation → review outcome
    video_processing_s: float = 1.0
    webhook_retry_s: float = 1.0
    webhook_duplicate_deliveries: int = 0  # extra deliveries of each webhook (at-least-once)
    metrics_growth: bool = True  # active objects accumulate impressions/clicks/spend over time
    rate_limits: dict[str, Any] = field(default_factory=dict)  # platform-specific keys
    switches: dict[str, Any] = field(default_factory=dict)  # platform-specific UNCONFIRMED rules
    state_file: str | None = None
    public_base_url: str | None = None  # absolute links (Snap paging.next_link) use this
    fault_seed: int | None = None

    def update(self, raw: dict[str, Any]) -> None:
        for key, value in raw.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown sandbox config key {key!r}")
            if key in {"rate_limits", "switches"}:
                getattr(self, key).update(value or {})
            else:
                setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def switch(self, name: str, default: Any = False) -> Any:
        return self.switches.get(name, default)
