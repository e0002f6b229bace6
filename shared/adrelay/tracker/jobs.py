"""The tracker's job runner: claims due jobs from the durable schedule, runs each as its own task under
a renewed lease, and puts a failed job back on the schedule with a backoff (never losing it).

A job whose lease cannot be renewed is cancelled: another replica may hold it by now, and the fenced
write at its end would be refused anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge

from adrelay.connections.errors import ConnectionsError
from adrelay.platforms.auth import ReauthNeeded
from adrelay.platforms.errors import PlatformCallError
from adrelay.tracker.schedule import Job, LeaseLost, Schedule

log = logging.getLogger(__name__)

JOB_RUNS = Counter(
    "adrelay_tracker_job_runs_total", "Tracker job runs by outcome", ["job", "platform", "outcome"]
)
JOBS_ACTIVE = Gauge("adrelay_tracker_jobs_active", "Tracker jobs running in this process")
MAX_BACKOFF_S = 3600.0

Handler = Callable[[Job], Awaitable[None]]


def backoff_s(job: Job, exc: BaseException) -> float:
    """Seconds until a failed job runs again: the platform's own wait when it gave one, else doubling
    from 30 s, never beyond the job's interval (or an hour)."""
    cap = min(max(job.interval_s, 1.0), MAX_BACKOFF_S)
    if isinstance(exc, PlatformCallError) and exc.retry_after_s:
        return max(min(exc.retry_after_s, MAX_BACKOFF_S), 1.0)
    return min(30.0 * 2 ** min(job.failures, 10), cap)


def error_of(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, PlatformCallError):
        return {"category": exc.category.value, "message": exc.error.message}
    if isinstance(exc, (ReauthNeeded, ConnectionsError)):
        return {"category": "auth", "message": str(exc)}
    return {"category": "unknown", "message": f"{type(exc).__name__}: {exc}"}


RELEASE_TIMEOUT_S = 2.0


class JobRunner:
    def __init__(
        self, schedule: Schedule, handlers: Mapping[str, Handler], *, concurrency: int, poll_s: float
    ) -> None:
        self.schedule = schedule
        self.handlers = handlers
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.active: dict[tuple[str, str, str], asyncio.Task[None]] = {}

    async def run(self) -> None:
        try:
            while True:
                try:
                    claimed = await self.schedule.claim(
                        self.concurrency - len(self.active), exclude=self.active
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # database down: keep trying
                    log.warning("tracker could not claim jobs: %r", exc)
                    claimed = []
                for job in claimed:
                    self.start(job)
                JOBS_ACTIVE.set(len(self.active))
                await asyncio.sleep(self.poll_s)
        finally:
            await self._stop_active()

    async def _stop_active(self) -> None:
        """Shutting down: stop the jobs in hand, each handing its lease back (see `drive`), so another
        replica takes them now instead of after the lease expires."""
        tasks = list(self.active.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def start(self, job: Job) -> asyncio.Task[None]:
        task = asyncio.create_task(self.drive(job))
        self.active[job.key] = task
        key = job.key

        def forget(_task: asyncio.Task[None]) -> None:
            self.active.pop(key, None)

        task.add_done_callback(forget)
        return task

    async def drive(self, job: Job) -> None:
        worker = asyncio.current_task()
        assert worker is not None
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(job, worker, lost))
        outcome = "ok"
        try:
            await self.handlers[job.job](job)
        except LeaseLost:
            outcome = "lease_lost"
            log.warning("job %s: lease lost, result discarded", job.key)
        except asyncio.CancelledError:
            if not lost.is_set():
                outcome = "stopped"
                with contextlib.suppress(Exception):  # at worst the lease expires as after a kill
                    await asyncio.wait_for(self.schedule.release(job), RELEASE_TIMEOUT_S)
                raise
            outcome = "lease_lost"
            log.warning("job %s: lease could not be renewed; stopped", job.key)
        except Exception as exc:
            outcome = "failed"
            delay = backoff_s(job, exc)
            log.warning("job %s failed (%r); again in %.0fs", job.key, exc, delay)
            with contextlib.suppress(Exception):
                await self.schedule.failed(job, error_of(exc), datetime.now(UTC) + timedelta(seconds=delay))
        finally:
            keeper.cancel()
            JOB_RUNS.labels(job.job, job.platform, outcome).inc()

    async def _keep_lease(self, job: Job, worker: asyncio.Task[None], lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(max(self.schedule.lease_s / 3, 0.2))
            try:
                renewed = await self.schedule.renew(job)
            except Exception as exc:
                log.warning("renewing the lease of %s failed: %r", job.key, exc)
                continue
            if not renewed:
                lost.set()
                worker.cancel()
                return
