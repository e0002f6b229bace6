"""The tracker's knobs, from the environment (production defaults; tests shorten the timings).

The public base URL is where the platforms reach this service (`<url>/webhooks/<platform>/`); without
it no webhook is registered and review outcomes come from polling alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

ReportMode = Literal["auto", "sync", "async"]


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def _report_mode() -> ReportMode:
    value = _env("ADRELAY_REPORT_MODE", "auto")
    if value not in ("auto", "sync", "async"):
        raise ValueError(f"ADRELAY_REPORT_MODE must be auto, sync or async, not {value!r}")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class TrackerSettings:
    # First sync after publication (the seed's one hour), then every interval.
    first_delay_s: float = field(default_factory=lambda: _float("ADRELAY_TRACKING_FIRST_DELAY_S", 3600.0))
    interval_s: float = field(default_factory=lambda: _float("ADRELAY_TRACKING_INTERVAL_S", 3600.0))
    # Conversions are attributed to clicks up to this many days later: tracking goes on that long after
    # the campaign's end, and every sync re-reads that many past days.
    attribution_window_days: int = field(
        default_factory=lambda: int(_env("ADRELAY_ATTRIBUTION_WINDOW_DAYS", "7"))
    )
    # Review polling while an ad's review is open (webhooks usually answer first).
    review_poll_s: float = field(default_factory=lambda: _float("ADRELAY_REVIEW_POLL_S", 900.0))
    lease_s: float = field(default_factory=lambda: _float("ADRELAY_TRACKING_LEASE_S", 60.0))
    poll_s: float = field(default_factory=lambda: _float("ADRELAY_TRACKING_POLL_S", 2.0))
    concurrency: int = field(default_factory=lambda: int(_env("ADRELAY_TRACKING_CONCURRENCY", "8")))
    report_mode: ReportMode = field(default_factory=_report_mode)
    public_base_url: str = field(default_factory=lambda: _env("ADRELAY_PUBLIC_BASE_URL", "").rstrip("/"))
    register_interval_s: float = field(default_factory=lambda: _float("ADRELAY_WEBHOOK_REGISTER_S", 3600.0))
    tiktok_signature_tolerance_s: float = field(
        default_factory=lambda: _float("ADRELAY_TIKTOK_WEBHOOK_TOLERANCE_S", 300.0)
    )
    webhook_retention_days: int = field(
        default_factory=lambda: int(_env("ADRELAY_WEBHOOK_RETENTION_DAYS", "7"))
    )
    # A webhook naming an ad no publish of ours holds yet (its publisher has not recorded it, or it is
    # not ours: subscriptions cover whole ad accounts) is matched again for this long; tracking the
    # publish later applies it anyway.
    unmatched_review_ttl_s: float = field(
        default_factory=lambda: _float("ADRELAY_UNMATCHED_REVIEW_TTL_S", 3600.0)
    )

    @property
    def lookback_days(self) -> int:
        return self.attribution_window_days + 1

    def callback_url(self, platform: str) -> str | None:
        return f"{self.public_base_url}/webhooks/{platform}/" if self.public_base_url else None
