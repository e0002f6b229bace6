"""Tests against limits counted in fixed windows aligned to the epoch (Snap's per-endpoint windows):
start a sequence of calls early in a window, so no window boundary falls between them."""

from __future__ import annotations

import asyncio
import time


async def early_in_fixed_window(span_s: float, need_s: float = 5.0) -> None:
    """Return when at least `need_s` of the current `span_s`-second window are left."""
    left = span_s - time.time() % span_s
    if left < need_s:
        await asyncio.sleep(left + 0.05)
