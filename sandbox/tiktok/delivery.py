"""Time intervals during which something holds (enabled, funded, approved), and their intersection.

Delivery of an ad is the intersection of: its own, its ad group's and its campaign's ENABLE intervals,
the advertiser's funded-and-enabled intervals, the ad's approved intervals and the ad group schedule.
Keeping intervals instead of flags makes metrics a pure function of time: re-reading a closed day
always gives the same totals, and totals grow only while everything holds.
"""

from __future__ import annotations

import math

Interval = list[float | None]  # [start, end]; end None = still open
Span = tuple[float, float]


def set_active(intervals: list[Interval], active: bool, now: float) -> None:
    """Open an interval at `now` (if none is open) or close the open one."""
    is_open = bool(intervals) and intervals[-1][1] is None
    if active and not is_open:
        intervals.append([now, None])
    elif not active and is_open:
        intervals[-1][1] = now


def spans(intervals: list[Interval]) -> list[Span]:
    return [(float(s or 0.0), math.inf if e is None else float(e)) for s, e in intervals]


def intersect(a: list[Span], b: list[Span]) -> list[Span]:
    out: list[Span] = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if lo < hi:
                out.append((lo, hi))
    out.sort()
    return out


def intersect_all(groups: list[list[Span]]) -> list[Span]:
    result: list[Span] = [(0.0, math.inf)]
    for group in groups:
        result = intersect(result, group)
        if not result:
            break
    return result


def measure(active: list[Span], lo: float, hi: float) -> float:
    """Seconds of `active` inside [lo, hi)."""
    return sum(max(0.0, min(e, hi) - max(s, lo)) for s, e in active)
