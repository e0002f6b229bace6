"""Driving one run through its steps: publish, roll back, or activate.

Publish: media (in parallel) → campaign → ad sets (in parallel) → creatives and ads (in parallel) →
record ids → emit the result. Each create follows the journal protocol of `journal.py`; a step that
was started but never confirmed is looked up by its tag first (invariant 1), finished steps are never
repeated (invariant 5). Waits (rate limits, video processing, settling before a lookup) park the run
on a durable timer instead of sleeping.

Rollback deletes what the publish created — steps whose outcome was unknown included, found by tag —
children before parents; media are kept. Activation sets the objects live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import asyncpg
from prometheus_client import Counter, Histogram

from adrelay.engine import events as result_events
from adrelay.engine.journal import (
    Journal,
    LeaseLost,
    RunRecord,
    StepRecord,
    forget_cached_media,
    later,
    utcnow,
)
from adrelay.engine.retry import INLINE_WAIT_MAX_S, RetryPolicy
from adrelay.events import Envelope
from adrelay.events.payloads import ErrorCategory, LeftObject, PlatformError
from adrelay.messaging import crash
from adrelay.observability.logging import log_context
from adrelay.platforms.auth import ReauthNeeded
from adrelay.platforms.base import (
    DELETE_ORDER,
    NotReady,
    PlatformAdapter,
    PublishContext,
    Step,
    StepKind,
    StepOutcome,
)
from adrelay.platforms.errors import LookupIncomplete, NotFound, OutcomeUnknown, PlatformCallError

log = logging.getLogger(__name__)
T = TypeVar("T")

STEP_SECONDS = Histogram(
    "adrelay_step_seconds",
    "Time of one workflow step (platform calls included)",
    ["platform", "kind"],
    buckets=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 30, 60),
)
STEP_OUTCOMES = Counter("adrelay_steps_total", "Workflow steps by outcome", ["platform", "kind", "outcome"])
PLATFORM_ERRORS = Counter(
    "adrelay_platform_errors_total", "Classified platform errors", ["platform", "category"]
)
PUBLISH_SECONDS = Histogram(
    "adrelay_publish_duration_seconds",
    "Time from publish request to a platform's result",
    ["platform", "outcome"],
    buckets=(0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600, 1800),
)
ROLLBACKS = Counter("adrelay_rollbacks_total", "Rollbacks finished, by outcome", ["platform", "outcome"])
MANUAL_CLEANUPS = Counter(
    "adrelay_manual_cleanups_total", "Objects left for manual cleanup", ["platform", "kind"]
)
STEP_PARALLELISM = 8
GOAL_CHECK_EVERY_S = 0.5


class Park(Exception):
    """This step cannot go on before `at`: park the run on a durable timer."""

    def __init__(self, at: datetime, reason: str, error: PlatformError | None = None) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason
        self.error = error


class StepFailed(Exception):
    """The step failed for good (not retryable, or retries exhausted)."""

    def __init__(self, error: PlatformError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class EngineTimings:
    http_timeout_s: float = 30.0  # a create started by another lease may still be in flight this long
    step_parallelism: int = STEP_PARALLELISM
    heartbeat_every_s: float = 10.0


class Workflows:
    """The three workflows of one platform's runs, over one adapter and one journal."""

    def __init__(
        self,
        journal: Journal,
        adapter: PlatformAdapter,
        policy: RetryPolicy | None = None,
        timings: EngineTimings | None = None,
    ) -> None:
        self.journal = journal
        self.adapter = adapter
        self.platform = adapter.platform
        self.policy = policy or RetryPolicy()
        self.timings = timings or EngineTimings()

    # ---- entry ------------------------------------------------------------------------------------
    async def drive(self, run: RunRecord, ctx: PublishContext) -> None:
        with log_context(
            campaign_id=run.campaign_id, publish_id=run.publish_id, platform=self.platform.value
        ):
            if run.goal == "publish":
                await self.publish(run, ctx)
            if run.goal == "publish":
                return
            if run.goal == "rollback":
                await self.rollback(run, ctx)
            elif run.goal == "activate":
                await self.activate(run, ctx)

    # ---- publish -----------------------------------------------------------------------------------
    async def publish(self, run: RunRecord, ctx: PublishContext) -> None:
        plan = self.adapter.plan(ctx.campaign)
        total = len(plan)
        ctx.steps_total = total

        def started(steps: Mapping[str, StepRecord]) -> Envelope:
            done = sum(1 for r in steps.values() if r.state == "succeeded" and r.outcome is not None)
            return result_events.progressed(run, "run", "started", done, total, None, None)

        goal, records = await self.journal.ensure_steps(
            run, plan, {s.key: ctx.tag(s) for s in plan}, heartbeat=started
        )
        goal_checked = asyncio.get_running_loop().time()
        for key, record in records.items():
            if record.state == "succeeded" and record.outcome is not None:
                ctx.outcomes[key] = record.outcome
        pending = {s.key: s for s in plan if s.key not in ctx.outcomes}
        running: dict[str, asyncio.Task[StepOutcome]] = {}
        parked: dict[str, Park] = {}
        failure: StepFailed | None = None
        limiter = asyncio.Semaphore(self.timings.step_parallelism)
        clock = asyncio.get_running_loop().time
        last_heartbeat = clock()
        while pending or running:
            if clock() - goal_checked >= GOAL_CHECK_EVERY_S:  # a rollback command is seen within this
                goal, goal_checked = await self.journal.current_goal(run), clock()
            stop = failure is not None or goal != "publish"
            if not stop:
                for step in list(pending.values()):
                    if step.key in running or step.key in parked:
                        continue
                    if all(dep in ctx.outcomes for dep in step.depends_on):
                        running[step.key] = asyncio.create_task(
                            self._bounded(limiter, self._create_step(run, ctx, step, records[step.key]))
                        )
            if not running:
                break
            done, _ = await asyncio.wait(
                running.values(), timeout=self.timings.heartbeat_every_s, return_when=asyncio.FIRST_COMPLETED
            )
            now = asyncio.get_running_loop().time()
            if not done or now - last_heartbeat >= self.timings.heartbeat_every_s:
                await self._progress(run, "run", "started", len(ctx.outcomes), total, "still working")
                last_heartbeat = now
            for key, task in list(running.items()):
                if task not in done:
                    continue
                del running[key]
                try:
                    outcome = task.result()
                except Park as park:
                    parked[key] = park
                    continue
                except StepFailed as failed:
                    failure = failure or failed
                    continue
                except LeaseLost:
                    for other in running.values():
                        other.cancel()
                    raise
                ctx.outcomes[key] = outcome  # its heartbeat went out with the journal record
                pending.pop(key, None)
        goal = await self.journal.current_goal(run)
        if goal != "publish":
            run.goal = goal  # switch to the rollback (or stop) in the same lease
            return
        if failure is not None:
            await self._publish_failed(run, ctx, failure.error)
            return
        if parked:
            first = min(parked.values(), key=lambda p: p.at)
            await self._progress(run, first.reason, "waiting", len(ctx.outcomes), total, wait_until=first.at)
            await self.journal.park(run, "waiting", first.at, first.error)
            return
        await self._publish_succeeded(run, ctx)

    async def _bounded(self, limiter: asyncio.Semaphore, work: Awaitable[T]) -> T:
        async with limiter:
            return await work

    async def _create_step(
        self, run: RunRecord, ctx: PublishContext, step: Step, record: StepRecord
    ) -> StepOutcome:
        started = asyncio.get_running_loop().time()
        try:
            outcome = await self._create_step_inner(run, ctx, step, record)
            STEP_OUTCOMES.labels(self.platform.value, step.kind.value, "succeeded").inc()
            return outcome
        except Park:
            STEP_OUTCOMES.labels(self.platform.value, step.kind.value, "parked").inc()
            raise
        except StepFailed as failed:
            STEP_OUTCOMES.labels(self.platform.value, step.kind.value, "failed").inc()
            PLATFORM_ERRORS.labels(self.platform.value, failed.error.category.value).inc()
            raise
        finally:
            STEP_SECONDS.labels(self.platform.value, step.kind.value).observe(
                asyncio.get_running_loop().time() - started
            )

    async def _create_step_inner(
        self, run: RunRecord, ctx: PublishContext, step: Step, record: StepRecord
    ) -> StepOutcome:
        if record.state == "waiting" and record.outcome is not None:
            return await self._until_ready(run, ctx, step, record.outcome)
        if record.state == "started":
            found = await self._find_unconfirmed(run, ctx, step, record)
            if found is not None:
                return await self._until_ready(run, ctx, step, found)
        if step.kind is StepKind.MEDIA:
            cached = await self._cached_media(ctx, step)
            if cached is not None:
                await self.journal.step_succeeded(run, step.key, cached)
                return cached
        attempts = record.attempts
        while True:
            record = await self.journal.step_started(run, step.key)
            attempts = record.attempts
            crash.point(f"{self.platform.value}:{step.kind.value}:before_send")
            try:
                outcome = await self._with_auth_retry(ctx, lambda: self.adapter.create(step, ctx))
            except OutcomeUnknown as exc:
                await self.journal.step_outcome_unknown(run, step.key)
                log.warning("create of %s: outcome unknown (%s); will look it up by tag", step.key, exc)
                raise Park(
                    later(self.adapter.lookup_settle_s), f"{step.key}: looking up an unanswered create"
                ) from exc
            except PlatformCallError as exc:
                error = exc.error.model_copy(update={"step": step.key})
                await self.journal.step_refused(run, step.key, error)
                await self._retry_or_raise(run, step, exc, attempts, error)
                continue
            crash.point(f"{self.platform.value}:{step.kind.value}:after_send")
            return await self._until_ready(run, ctx, step, outcome)

    async def _retry_or_raise(
        self, run: RunRecord, step: Step, exc: PlatformCallError, attempts: int, error: PlatformError
    ) -> None:
        """Return to try again now; raise Park to try again later; raise StepFailed to give up."""
        if not self.policy.should_retry(exc, attempts):
            raise StepFailed(error)
        delay = self.policy.delay(exc, attempts)
        await self._progress(
            run, step.key, "retrying", None, None, f"{error.category.value}: {error.message}"
        )
        if delay > INLINE_WAIT_MAX_S:
            raise Park(later(delay), f"{step.key}: {error.category.value}", error)
        await asyncio.sleep(delay)

    async def _with_auth_retry(self, ctx: PublishContext, call: Callable[[], Awaitable[T]]) -> T:
        """An auth refusal creates nothing: refresh the token once (where the platform allows) and retry.
        A connection that needs a person to re-authenticate is an auth failure of this step."""
        try:
            token = await ctx.tokens.access_token()
            try:
                return await call()
            except PlatformCallError as exc:
                if exc.category is not ErrorCategory.AUTH:
                    raise
                fresh = await ctx.tokens.after_auth_error(token)
                if fresh is None:
                    raise
                return await call()
        except ReauthNeeded as exc:
            raise PlatformCallError.of(ErrorCategory.AUTH, f"re-authentication required: {exc}") from exc

    async def _find_unconfirmed(
        self, run: RunRecord, ctx: PublishContext, step: Step, record: StepRecord
    ) -> StepOutcome | None:
        """A create was started and never confirmed: wait until it cannot still be in flight and the
        platform's lists have caught up, then look it up by tag. None means proven absent."""
        settle = self.adapter.lookup_settle_s
        if record.started_token != run.fencing_token:
            settle += self.timings.http_timeout_s  # started under another lease: it may still be sending
        assert record.started_at is not None
        due = record.started_at + timedelta(seconds=settle)
        if utcnow() < due:
            raise Park(due, f"{step.key}: settling before lookup")
        for attempt in range(1, self.policy.lookup_attempts + 1):
            try:
                found = await self._with_auth_retry(ctx, lambda: self.adapter.lookup(step, ctx))
            except (LookupIncomplete, PlatformCallError) as exc:
                if isinstance(exc, PlatformCallError) and not exc.retryable:
                    raise StepFailed(exc.error.model_copy(update={"step": step.key})) from exc
                delay = self.policy.delay(exc if isinstance(exc, PlatformCallError) else None, attempt)
                log.warning("lookup of %s incomplete (%r); retrying in %.1fs", step.key, exc, delay)
                if delay > INLINE_WAIT_MAX_S:
                    raise Park(later(delay), f"{step.key}: lookup incomplete") from exc
                await asyncio.sleep(delay)
                continue
            STEP_OUTCOMES.labels(self.platform.value, step.kind.value, "found" if found else "absent").inc()
            if found is not None:
                log.info(
                    "%s was created before the crash/timeout: found %s by tag", step.key, found.external_id
                )
            return found
        raise Park(later(self.policy.max_delay_s), f"{step.key}: lookup never completed")

    async def _until_ready(
        self, run: RunRecord, ctx: PublishContext, step: Step, outcome: StepOutcome
    ) -> StepOutcome:
        try:
            ready = await self._with_auth_retry(ctx, lambda: self.adapter.check_ready(step, ctx, outcome))
        except PlatformCallError as exc:
            if exc.retryable:
                await self.journal.step_waiting(run, step.key, outcome)
                raise Park(later(self.policy.delay(exc, 1)), f"{step.key}: readiness check failed") from exc
            raise StepFailed(exc.error.model_copy(update={"step": step.key})) from exc
        if isinstance(ready, NotReady):
            await self.journal.step_waiting(run, step.key, outcome)
            raise Park(later(ready.retry_after_s), f"{step.key}: {ready.detail or 'not ready yet'}")
        heartbeat = result_events.progressed(
            run, step.key, "succeeded", len(ctx.outcomes) + 1, ctx.steps_total, None, None
        )
        await self.journal.step_succeeded(run, step.key, ready, events=[heartbeat])
        if step.kind is StepKind.MEDIA and step.ref is not None:
            asset = ctx.media(step.ref)
            await self.journal.remember_media(self.adapter.account_id(ctx.target), asset.sha256, ready)
        return ready

    async def _cached_media(self, ctx: PublishContext, step: Step) -> StepOutcome | None:
        assert step.ref is not None
        asset = ctx.media(step.ref)
        return await self.journal.cached_media(self.adapter.account_id(ctx.target), asset.sha256)

    async def _publish_succeeded(self, run: RunRecord, ctx: PublishContext) -> None:
        ids = result_events.external_ids(ctx, self.adapter)
        event = result_events.succeeded(run, ids)
        await self.journal.finish(
            run,
            "succeeded",
            [event],
            result={"external_ids": ids.model_dump(mode="json")},
            also=lambda conn: result_events.store_platform_data(conn, run, ids, "published"),
        )
        PUBLISH_SECONDS.labels(self.platform.value, "succeeded").observe(result_events.age_s(run))
        log.info("publish succeeded on %s", self.platform.value)

    async def _publish_failed(self, run: RunRecord, ctx: PublishContext, error: PlatformError) -> None:
        records = await self.journal.steps(run)
        stale = self._cached_media_behind(ctx, records, error)
        for key in stale:
            ctx.outcomes.pop(key, None)  # not this publish's objects: not in its ids or its rollback
        ids = result_events.external_ids(ctx, self.adapter)
        unknown = [k for k, r in records.items() if r.state == "started"]
        created = not ids.empty or bool(unknown)
        event = result_events.failed(run, ids, error, created, unknown)
        account = self.adapter.account_id(ctx.target)

        async def record(conn: asyncpg.Connection) -> None:
            await result_events.store_platform_data(conn, run, ids, "failed")
            if stale:
                await forget_cached_media(conn, run, account, stale)

        await self.journal.finish(
            run,
            "failed",
            [event],
            result={"external_ids": ids.model_dump(mode="json")},
            error=error,
            also=record,
        )
        if stale:
            log.warning("forgot cached media %s: %s could not use them", stale, error.step)
        PUBLISH_SECONDS.labels(self.platform.value, "failed").observe(result_events.age_s(run))
        log.warning("publish failed on %s at %s: %s", self.platform.value, error.step, error.message)

    def _cached_media_behind(
        self, ctx: PublishContext, records: Mapping[str, StepRecord], error: PlatformError
    ) -> list[str]:
        """Media steps the failed step depends on, that took their outcome from the upload cache (they
        never called the platform: no attempt is journaled) and that the refusal names by their platform
        id ("the image with hash … was not found"). The platform may have deleted such media since they
        were cached; they are uploaded afresh rather than trusted again. Any other failure keeps them."""
        plan = {s.key: s for s in self.adapter.plan(ctx.campaign)}
        said = " ".join([error.message, error.title or "", *error.blamed_fields])
        behind: set[str] = set()
        todo = [error.step] if error.step is not None and error.step in plan else []
        while todo:
            for dep in plan[todo.pop()].depends_on:
                if dep in plan and dep not in behind:
                    behind.add(dep)
                    todo.append(dep)
        return sorted(
            key
            for key in behind
            if plan[key].kind is StepKind.MEDIA
            and (r := records.get(key)) is not None
            and r.state == "succeeded"
            and r.attempts == 0
            and bool(r.external_id)
            and str(r.external_id) in said
        )

    # ---- rollback ----------------------------------------------------------------------------------
    async def rollback(self, run: RunRecord, ctx: PublishContext) -> None:
        records = await self.journal.steps(run)
        for key, record in records.items():
            if record.outcome is not None:
                ctx.outcomes[key] = record.outcome
        left: list[LeftObject] = []
        deleted: list[str] = []
        parks: list[Park] = []
        limiter = asyncio.Semaphore(self.timings.step_parallelism)
        for kind in DELETE_ORDER:
            targets = [
                r
                for r in records.values()
                if r.kind == kind.value and r.state in {"succeeded", "waiting", "started"}
            ]
            if not targets:
                continue
            if not self.adapter.deletes(kind):
                continue
            results = await asyncio.gather(
                *(self._bounded(limiter, self._remove(run, ctx, kind, r)) for r in targets),
                return_exceptions=True,
            )
            for record, result in zip(targets, results, strict=True):
                if isinstance(result, Park):
                    parks.append(result)
                elif isinstance(result, LeftObject):
                    left.append(result)
                elif isinstance(result, str):
                    deleted.append(result)
                elif isinstance(result, LeaseLost):
                    raise result
                elif isinstance(result, BaseException):
                    log.error("rollback of %s failed unexpectedly", record.step_key, exc_info=result)
                    parks.append(Park(later(self.policy.backoff(2)), f"{record.step_key}: {result!r}"))
            if parks:
                break  # children first: parents wait until every child of this level is settled
        if parks:
            first = min(parks, key=lambda p: p.at)
            await self.journal.park(run, "rolling_back", first.at, first.error)
            return
        outcome = "needs_manual_cleanup" if left else "rolled_back"
        event = result_events.rolled_back(run, outcome, deleted, left)
        await self.journal.finish(
            run,
            outcome,
            [event],
            also=lambda conn: result_events.store_cleanup(conn, run, left, outcome),
        )
        ROLLBACKS.labels(self.platform.value, outcome).inc()
        for item in left:
            MANUAL_CLEANUPS.labels(self.platform.value, item.kind).inc()
        log.info("rollback on %s finished: %s", self.platform.value, outcome)

    async def _remove(
        self, run: RunRecord, ctx: PublishContext, kind: StepKind, record: StepRecord
    ) -> str | LeftObject | None:
        """Delete one journaled object (found by tag when its create was never confirmed)."""
        step = Step(record.step_key, kind)
        external_id = record.external_id
        if record.state == "started":
            found = await self._find_unconfirmed(run, ctx, self._step_for(ctx, record), record)
            if found is None:
                await self.journal.step_absent(run, record.step_key)
                return None
            external_id = found.external_id
        assert external_id is not None
        attempts = 0
        while True:
            attempts += 1
            try:
                await self._with_auth_retry(ctx, lambda: self.adapter.delete(kind, external_id, ctx))
            except NotFound:
                pass
            except PlatformCallError as exc:
                if self.policy.should_retry(exc, attempts):
                    delay = self.policy.delay(exc, attempts)
                    if delay > INLINE_WAIT_MAX_S:
                        raise Park(
                            later(delay), f"{step.key}: delete {exc.category.value}", exc.error
                        ) from exc
                    await asyncio.sleep(delay)
                    continue
                return LeftObject(
                    kind=kind.value,
                    external_id=external_id,
                    reason=f"{exc.category.value}: {exc.error.message}",
                )
            await self.journal.step_deleted(run, record.step_key)
            return external_id

    def _step_for(self, ctx: PublishContext, record: StepRecord) -> Step:
        for step in self.adapter.plan(ctx.campaign):
            if step.key == record.step_key:
                return step
        return Step(record.step_key, StepKind(record.kind))

    # ---- activation --------------------------------------------------------------------------------
    async def activate(self, run: RunRecord, ctx: PublishContext) -> None:
        records = await self.journal.steps(run)
        objects = {
            k: r.external_id
            for k, r in records.items()
            if r.state == "succeeded" and r.external_id and r.kind in {"campaign", "ad_set", "ad"}
        }
        for key, record in records.items():
            if record.outcome is not None:
                ctx.outcomes[key] = record.outcome
        attempts = 0
        while True:
            attempts += 1
            try:
                await self._with_auth_retry(ctx, lambda: self.adapter.activate(ctx, objects))
            except PlatformCallError as exc:
                if self.policy.should_retry(exc, attempts):
                    delay = self.policy.delay(exc, attempts)
                    if delay > INLINE_WAIT_MAX_S:
                        await self.journal.park(run, "activating", later(delay), exc.error)
                        return
                    await asyncio.sleep(delay)
                    continue
                error = exc.error.model_copy(update={"step": "activate"})
                await self.journal.finish(
                    run, "activation_failed", [result_events.activated(run, error)], error=error
                )
                return
            await self.journal.finish(
                run,
                "active",
                [result_events.activated(run, None)],
                also=lambda conn: result_events.mark_platform_data(conn, run, "active"),
            )
            return

    # ---- heartbeats --------------------------------------------------------------------------------
    async def _progress(
        self,
        run: RunRecord,
        step: str,
        state: str,
        done: int | None,
        total: int | None,
        detail: str | None = None,
        wait_until: datetime | None = None,
    ) -> None:
        event = result_events.progressed(run, step, state, done, total, detail, wait_until)
        await self.journal.emit_now(run, [event])
