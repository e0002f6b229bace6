"""The runner: drives many runs at once from PostgreSQL, never from inside a Kafka handler.

The Kafka agent only records a request (inbox + run row, one transaction) and acknowledges it; the
runner claims due runs (lease + fencing token), drives each through its workflow, renews the lease
while it works, and parks a run on a durable timer when it must wait. On start it resumes every
unfinished run (its own stale leases at once, others' when they expire). One slow publish never
blocks another campaign: each run is its own task, bounded by `max_runs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

import asyncpg
from prometheus_client import Gauge

from adrelay.engine.journal import Journal, LeaseLost, RunRecord, later
from adrelay.engine.media import MediaStore
from adrelay.engine.workflow import Workflows
from adrelay.platforms.base import PublishContext, TokenSource

log = logging.getLogger(__name__)

RUNS_ACTIVE = Gauge("adrelay_runs_active", "Runs being driven by this process", ["platform"])
RUNNABLE_RUNS = Gauge("adrelay_runnable_runs", "Runs due and waiting for a runner", ["platform"])
RUNS_BY_STATE = Gauge("adrelay_runs", "Runs per state", ["platform", "state"])

MANUAL_CLEANUP_PENDING = Gauge(
    "adrelay_manual_cleanup_pending", "Objects left for manual cleanup, not yet resolved", ["platform"]
)
RUN_STATES = (
    "queued", "running", "waiting", "succeeded", "failed", "rolling_back", "rolled_back",
    "needs_manual_cleanup", "activating", "active", "activation_failed",
)  # fmt: skip

TokensFor = Callable[[RunRecord], TokenSource]


def default_owner(service: str) -> str:
    return f"{socket.gethostname()}/{service}"


class Runner:
    def __init__(
        self,
        journal: Journal,
        workflows: Workflows,
        tokens_for: TokensFor,
        media: MediaStore,
        *,
        max_runs: int = 50,
        poll_s: float = 1.0,
        dsn: str | None = None,
    ) -> None:
        self.journal = journal
        self.workflows = workflows
        self.tokens_for = tokens_for
        self.media = media
        self.max_runs = max_runs
        self.poll_s = poll_s
        self.dsn = dsn
        self.platform = journal.platform
        self.active: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        prime_metrics(self.platform.value)

    async def run(self) -> None:
        """Forever: claim due runs, drive them, wake on notifications or the poll interval."""
        listener = asyncio.create_task(self._listen()) if self.dsn else None
        gauges = asyncio.create_task(self._gauges())
        try:
            while True:
                try:
                    claimed = await self.journal.claim(self.max_runs - len(self.active), exclude=self.active)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # database down: keep trying
                    log.warning("runner could not claim runs: %r", exc)
                    claimed = []
                for run in claimed:
                    task = asyncio.create_task(self._drive(run))
                    self.active[run.publish_id] = task
                    task.add_done_callback(self._on_done(run.publish_id))
                RUNS_ACTIVE.labels(self.platform.value).set(len(self.active))
                if claimed and len(self.active) < self.max_runs:
                    continue  # there may be more due right now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
                self._wake.clear()
        finally:
            if listener is not None:
                listener.cancel()
            gauges.cancel()
            for task in self.active.values():
                task.cancel()

    def _on_done(self, publish_id: str) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            self.active.pop(publish_id, None)
            RUNS_ACTIVE.labels(self.platform.value).set(len(self.active))
            self._wake.set()

        return done

    async def _drive(self, run: RunRecord) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(run))
        try:
            if run.request is None:  # a rollback that overtook its request: nothing was ever created
                return
            ctx = PublishContext(
                publish_id=run.publish_id,
                campaign=run.request.campaign,
                target=run.target,
                tokens=self.tokens_for(run),
                media_store=self.media,
            )
            await self.workflows.drive(run, ctx)
        except LeaseLost as exc:
            log.warning("%s", exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("run %s on %s crashed; it will be retried", run.publish_id, self.platform.value)
            with contextlib.suppress(Exception):
                await self.journal.park(
                    run,
                    run.state if run.state != "queued" else "running",
                    later(self.workflows.policy.backoff(3)),
                )
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, run: RunRecord) -> None:
        interval = max(self.journal.lease_s / 3, 0.2)
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.journal.renew(run):
                    log.warning("lease of %s lost", run.publish_id)
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("lease renewal failed: %r", exc)

    async def _listen(self) -> None:
        """Wake up at once when a request or command for this platform is recorded."""
        assert self.dsn is not None
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                await conn.add_listener(self.journal.channel, lambda *_: self._wake.set())
                while not conn.is_closed():
                    await asyncio.sleep(5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("runner listener reconnecting: %r", exc)
                await asyncio.sleep(1)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)

    async def _gauges(self) -> None:
        while True:
            try:
                async with self.journal.db.connection() as conn:
                    rows = await conn.fetch(
                        "select state, count(*) as n from publisher_runs where platform = $1 group by state",
                        self.platform.value,
                    )
                    cleanup = await conn.fetchval(
                        "select count(*) from manual_cleanup where platform = $1 and resolved_at is null",
                        self.platform.value,
                    )
                    due = await conn.fetchval(
                        """
                        select count(*) from publisher_runs where platform = $1
                          and state in ('queued', 'running', 'waiting', 'rolling_back', 'activating')
                          and next_attempt_at <= now()
                          and (lease_expires_at is null or lease_expires_at < now())
                        """,
                        self.platform.value,
                    )
                counts = dict.fromkeys(RUN_STATES, 0) | {row["state"]: row["n"] for row in rows}
                for state, count in counts.items():  # every state, so one that empties reads 0
                    RUNS_BY_STATE.labels(self.platform.value, state).set(count)
                RUNNABLE_RUNS.labels(self.platform.value).set(due)
                MANUAL_CLEANUP_PENDING.labels(self.platform.value).set(cleanup)
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            await asyncio.sleep(5)


def prime_metrics(platform: str) -> None:
    """Every label set a dashboard or alert reads exists from the start (at 0), not after its first event."""
    from adrelay.engine import workflow
    from adrelay.events.payloads import ErrorCategory
    from adrelay.platforms.base import StepKind

    RUNNABLE_RUNS.labels(platform).set(0)
    RUNS_ACTIVE.labels(platform).set(0)
    MANUAL_CLEANUP_PENDING.labels(platform).set(0)
    for state in RUN_STATES:
        RUNS_BY_STATE.labels(platform, state).set(0)
    for outcome in ("rolled_back", "needs_manual_cleanup"):
        workflow.ROLLBACKS.labels(platform, outcome).inc(0)
    for category in ErrorCategory:
        workflow.PLATFORM_ERRORS.labels(platform, category.value).inc(0)
    for kind in StepKind:
        workflow.MANUAL_CLEANUPS.labels(platform, kind.value).inc(0)
