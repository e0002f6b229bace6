"""Helpers more than one platform needs (kept small: anything platform-specific stays in its package)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from adrelay.model import Campaign, Platform

UTM_MEDIUM = "paid_social"


def utm_parameters(platform: Platform, campaign: Campaign, ad_id: str) -> dict[str, str]:
    """adrelay's UTM set for one ad; the campaign's own `utm_parameters` win over the defaults."""
    params = {
        "utm_source": platform.value,
        "utm_medium": UTM_MEDIUM,
        "utm_campaign": campaign.id,
        "utm_content": ad_id,
    }
    params.update(campaign.utm_parameters)
    return params


def tracked_url(url: str, params: Mapping[str, str], macros: Mapping[str, str] | None = None) -> str:
    """`url` with tracking parameters appended.

    The landing URL's own query is kept byte for byte and wins: a parameter it already carries is not
    added again. `macros` are appended unencoded because the platform substitutes them at click time
    (e.g. TikTok's `__CLICKID__`); percent-encoding them would break the substitution.
    """
    parts = urlsplit(url)
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    added = urlencode([(k, v) for k, v in params.items() if k not in present], quote_via=quote)
    raw = "&".join(f"{quote(k, safe='')}={v}" for k, v in (macros or {}).items() if k not in present)
    query = "&".join(piece for piece in (parts.query, added, raw) if piece)
    return urlunsplit(SplitResult(parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))


ReportLevel = Literal["campaign", "ad_set", "ad"]


@dataclass(frozen=True)
class DailyMetrics:
    """One day of one object's delivery, the same shape for every platform's reporting."""

    date: date  # a day in the ad account's time zone, as the platform reports it
    level: ReportLevel
    external_id: str
    impressions: int
    clicks: int
    spend_micros: int  # micros of the account currency
    conversions: int
    raw: dict[str, Any] = field(default_factory=dict)


def major_to_micros(value: Any) -> int:
    """A major-unit amount as platforms report spend ("12.34", 5) → integer micros, with Decimal
    arithmetic (exact for every real currency; a sub-micro remainder rounds half-even)."""
    if value in (None, ""):
        return 0
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"amount {value!r} is not a number") from None
    return int((amount * 1_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))
