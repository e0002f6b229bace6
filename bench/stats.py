"""Percentiles, machine load, and the rows the benchmarks print and keep."""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: Iterable[float]) -> dict[str, float]:
    values = [s * 1000.0 for s in seconds]
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p90_ms": round(percentile(values, 90), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "min_ms": round(min(values), 1) if values else math.nan,
        "max_ms": round(max(values), 1) if values else math.nan,
        "mean_ms": round(sum(values) / len(values), 1) if values else math.nan,
    }


def load() -> dict[str, float]:
    """The machine's load averages and core count right now."""
    one, five, fifteen = os.getloadavg()
    return {
        "load1": round(one, 2),
        "load5": round(five, 2),
        "load15": round(fifteen, 2),
        "cores": os.cpu_count() or 0,
    }


def other_test_runs() -> int:
    """pytest processes running on the machine now (other engineers' suites compete for the cores,
    and their chaos tests stop PostgreSQL)."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"-m\0pytest" in line and not line.startswith(b"timeout"):
                count += 1
    return count


class LoadSampler:
    """Samples the 1-minute load average (mean and max) and other test runs while a phase runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.others: list[int] = []
        self.started = time.monotonic()
        self._last_other_check = 0.0

    def sample(self) -> None:
        self.samples.append(os.getloadavg()[0])
        if time.monotonic() - self._last_other_check >= 5.0:
            self._last_other_check = time.monotonic()
            self.others.append(other_test_runs())

    def result(self) -> dict[str, float]:
        if not self.samples:
            self.sample()
        return {
            "load1_mean": round(sum(self.samples) / len(self.samples), 2),
            "load1_max": round(max(self.samples), 2),
            "other_pytest_max": max(self.others, default=0),
        }


DISTURBANCES: list[str] = []


async def retry_db(call: Callable[[], Awaitable[T]], what: str, limit_s: float = 120.0) -> T:
    """Run a database read of the bench, riding out an outage (another suite's chaos test may stop
    PostgreSQL); every outage is remembered in DISTURBANCES and reported with the rows."""
    from adrelay.storage.db import is_transient_db_error

    deadline = time.monotonic() + limit_s
    while True:
        try:
            return await call()
        except Exception as exc:
            if not is_transient_db_error(exc) or time.monotonic() > deadline:
                raise
            note = f"{time.strftime('%H:%M:%S')} {what}: {type(exc).__name__}"
            if not DISTURBANCES or DISTURBANCES[-1] != note:
                DISTURBANCES.append(note)
            await asyncio.sleep(1.0)


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A markdown table (also readable as plain text)."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    return "\n".join([line, rule, *body])


def write_results(out_dir: Path, name: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=2, default=str))
    md_path.write_text(markdown)
    return json_path, md_path
