"""Tests against time boundaries: limits counted in fixed windows aligned to the epoch (Snap's
per-endpoint windows) and days in an account's time zone. Start a sequence of calls well inside one,
so no boundary falls between them."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo


async def early_in_fixed_window(span_s: float, need_s: float = 5.0) -> None:
    """Return when at least `need_s` of the current `span_s`-second window are left."""
    left = span_s - time.time() % span_s
    if left < need_s:
        await asyncio.sleep(left + 0.05)


async def away_from_midnight(zone: str, before_s: float = 20.0, after_s: float = 5.0) -> None:
    """Return when midnight in `zone` is at least `before_s` ahead and `after_s` behind, so a test that
    delivers and then reads "today" (or "yesterday") reads the day it meant."""
    now = datetime.now(ZoneInfo(zone))
    since = now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6
    until = 86400 - since
    if until < before_s:
        await asyncio.sleep(until + after_s)
    elif since < after_s:
        await asyncio.sleep(after_s - since)
