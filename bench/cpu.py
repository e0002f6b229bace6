"""CPU time per process during a phase, from /proc (Linux): which part of the stack burns the cores.

Groups: each service process, the sandboxes, this bench process, the PostgreSQL backends serving the
bench database (matched by their process title), and the Kafka broker.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class CpuMeter:
    def __init__(self, named: dict[str, int], database: str) -> None:
        self.named = named
        self.database = database
        self.start: dict[str, dict[int, float]] = {}
        self.started = 0.0

    def _groups(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {name: [pid] for name, pid in self.named.items()}
        groups["bench (this process)"] = [os.getpid()]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            line = _cmdline(pid)
            if line.startswith("postgres:") and f" {self.database} " in f"{line} ":
                groups.setdefault("postgres (bench database)", []).append(pid)
            elif "kafka.Kafka" in line:
                groups.setdefault("kafka", []).append(pid)
        return groups

    def _snapshot(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, pids in self._groups().items():
            out[name] = {}
            for pid in pids:
                value = _cpu(pid)
                if value is not None:
                    out[name][pid] = value
        return out

    def begin(self) -> None:
        self.start = self._snapshot()
        self.started = time.monotonic()

    def end(self) -> dict[str, float]:
        """Per group, CPU time since `begin` as a percentage of one core (200 = both cores of two)."""
        now = self._snapshot()
        wall = max(time.monotonic() - self.started, 1e-9)
        used = {
            name: sum(value - self.start.get(name, {}).get(pid, 0.0) for pid, value in pids.items())
            for name, pids in now.items()
        }
        return {
            name: round(100 * seconds / wall, 1)
            for name, seconds in sorted(used.items(), key=lambda kv: -kv[1])
        }
