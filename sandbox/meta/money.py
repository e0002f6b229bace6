"""Money as Meta counts it: integers in the currency's minor unit per Meta's offset table.

Budgets and bids are sent and stored as integers (`$20.00 → 2000`, `¥5000 → 5000`); insights report
spend in major units as a decimal string. Minimum daily budgets are per currency and billing event
(`/act_/minimum_budgets`); the default numbers below are UNCONFIRMED placeholders, seedable per account.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Meta "Currency Codes" doc: offset 1 (no minor unit) for these; 100 for every other currency.
OFFSET_ONE = frozenset({"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD"})

_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "TWD": "NT$",
    "HUF": "Ft",
    "BRL": "R$",
    "CAD": "CA$",
    "AUD": "A$",
    "MXN": "MX$",
    "TRY": "TL",
}

# Minimum daily budgets in minor units (imp = impressions billing; high_freq = clicks, likes,
# engagement; low_freq = app installs, offer claims, purchases; video = ThruPlay). UNCONFIRMED values.
_MINIMUMS: dict[str, tuple[int, int, int, int]] = {
    "USD": (100, 500, 4000, 100),
    "EUR": (100, 500, 4000, 100),
    "GBP": (100, 500, 4000, 100),
    "CAD": (142, 708, 5600, 142),
    "AUD": (150, 750, 6000, 150),
    "JPY": (150, 750, 6000, 150),
    "KRW": (1400, 7000, 56000, 1400),
    "HUF": (360, 1800, 14400, 360),
    "TWD": (32, 160, 1280, 32),
    "INR": (9400, 47000, 376000, 9400),
    "MYR": (412, 2060, 16480, 412),
    "BRL": (500, 2500, 20000, 500),
    "TRY": (4644, 23220, 185760, 4644),
    "CLP": (900, 4500, 36000, 900),
    "COP": (4000, 20000, 160000, 4000),
    "IDR": (15000, 75000, 600000, 15000),
    "ISK": (140, 700, 5600, 140),
    "CRC": (520, 2600, 20800, 520),
    "PYG": (7500, 37500, 300000, 7500),
    "VND": (25000, 125000, 1000000, 25000),
}
MIN_KEYS = ("min_daily_budget_imp", "min_daily_budget_high_freq", "min_daily_budget_low_freq")
MIN_KEYS_ALL = (*MIN_KEYS, "min_daily_budget_video_views")

_HIGH_FREQ_EVENTS = {"LINK_CLICKS", "CLICKS", "POST_ENGAGEMENT", "PAGE_LIKES", "LISTING_INTERACTION"}
_LOW_FREQ_EVENTS = {"APP_INSTALLS", "OFFER_CLAIMS", "PURCHASE"}


def offset(currency: str, extra_offset_one: Iterable[str] = ()) -> int:
    return 1 if currency in OFFSET_ONE or currency in set(extra_offset_one) else 100


def default_minimums(currency: str) -> dict[str, int]:
    imp, high, low, video = _MINIMUMS.get(currency, _MINIMUMS["USD"])
    return {
        "min_daily_budget_imp": imp,
        "min_daily_budget_high_freq": high,
        "min_daily_budget_low_freq": low,
        "min_daily_budget_video_views": video,
    }


def minimums_from_seed(currency: str, raw: Any) -> dict[str, int]:
    """Seed value: None (defaults), an int (every kind), or a dict of the MinimumBudget keys."""
    mins = default_minimums(currency)
    if isinstance(raw, int):
        return {k: raw for k in mins}
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key not in mins:
                raise ValueError(f"unknown minimum budget key {key!r}")
            mins[key] = int(value)
    return mins


def minimum_for(mins: dict[str, int], billing_event: str | None) -> int:
    if billing_event == "THRUPLAY":
        return mins["min_daily_budget_video_views"]
    if billing_event in _HIGH_FREQ_EVENTS:
        return mins["min_daily_budget_high_freq"]
    if billing_event in _LOW_FREQ_EVENTS:
        return mins["min_daily_budget_low_freq"]
    return mins["min_daily_budget_imp"]


def major(amount_minor: float, currency: str, extra_offset_one: Iterable[str] = ()) -> str:
    """Minor units → major-unit decimal string, as insights report spend."""
    off = offset(currency, extra_offset_one)
    if off == 1:
        return str(round(amount_minor))
    return f"{amount_minor / off:.2f}"


def display(amount_minor: int, currency: str, extra_offset_one: Iterable[str] = ()) -> str:
    """How Meta writes an amount in a user message: `$1.00`, `¥150`, `MYR4.12`."""
    symbol = _SYMBOLS.get(currency, currency)
    off = offset(currency, extra_offset_one)
    if off == 1:
        return f"{symbol}{amount_minor:,}"
    return f"{symbol}{amount_minor / off:,.2f}"
