"""Where an engine's database time goes: every query its pool runs (asyncpg's query logger, with the
server round trip's duration), and every journal operation (the engine's database API) with its time.

Attached to instances only (the harness's `Database` and `Journal`); no product code changes.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from adrelay.engine.journal import Journal
from adrelay.storage.db import Database

JOURNAL_OPS = (
    "claim",
    "renew",
    "current_goal",
    "park",
    "finish",
    "emit_now",
    "steps",
    "ensure_steps",
    "step_started",
    "step_succeeded",
    "step_waiting",
    "step_refused",
    "step_outcome_unknown",
    "cached_media",
    "remember_media",
)


class DbProbe:
    def __init__(self) -> None:
        self.queries: list[tuple[float, float, str]] = []  # (answered at, seconds, first words)
        self.op_count: Counter[str] = Counter()
        self.op_seconds: defaultdict[str, float] = defaultdict(float)
        self.acquire_seconds = 0.0
        self.acquires = 0
        self.enabled = True

    def clear(self) -> None:
        self.queries.clear()
        self.op_count.clear()
        self.op_seconds.clear()
        self.acquire_seconds = 0.0
        self.acquires = 0

    def _logged(self, record: Any) -> None:
        if self.enabled:
            words = " ".join(str(record.query).split()[:2]).lower()
            self.queries.append((time.time(), float(record.elapsed), words))

    def attach_database(self, db: Database) -> None:
        connection, transaction = db.connection, db.transaction
        probe = self

        def hooked(opener: Callable[[], Any]) -> Callable[[], Any]:
            @contextlib.asynccontextmanager
            async def open_() -> AsyncIterator[asyncpg.Connection]:
                asked = time.perf_counter()
                async with opener() as conn:
                    if probe.enabled:
                        probe.acquires += 1
                        probe.acquire_seconds += time.perf_counter() - asked
                    conn.add_query_logger(probe._logged)  # a set: adding again is a no-op
                    yield conn

            return open_

        db.connection = hooked(connection)  # type: ignore[method-assign]
        db.transaction = hooked(transaction)  # type: ignore[method-assign]

    def attach_journal(self, journal: Journal) -> None:
        for name in JOURNAL_OPS:
            original = getattr(journal, name, None)
            if original is not None:
                setattr(journal, name, self._timed(name, original))

    def _timed(self, name: str, original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                if self.enabled:
                    self.op_count[name] += 1
                    self.op_seconds[name] += time.perf_counter() - started

        return timed

    def between(self, start: float, end: float) -> tuple[int, float]:
        """Queries answered in [start, end] (epoch seconds): how many, and their total seconds."""
        rows = [q for q in self.queries if start <= q[0] <= end]
        return len(rows), sum(q[1] for q in rows)
