"""Helpers more than one platform needs (kept small: anything platform-specific stays in its package)."""

from __future__ import annotations

from collections.abc import Mapping
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
