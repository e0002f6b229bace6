"""Runs and their step journal in PostgreSQL (invariants 1 and 5).

A run is one platform's part of one publish (plus its rollback or activation). A runner owns it by a
lease with heartbeat; each claim increments the run's fencing token, and every journal write checks
the token inside its transaction (`_fence`), so a runner whose lease expired can never record — and
therefore never start — another create.

A step's life: pending → started (intent: tag and time, written BEFORE the platform call) →
succeeded (external id) | waiting (created, not usable yet) | pending again (the platform refused:
nothing was created). A step left `started` (crash, timeout, dropped connection) is looked up by its
tag before anything is created again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from adrelay.events import CampaignPublishRequested, Envelope
from adrelay.events.payloads import PlatformError
from adrelay.model import Platform, PlatformTarget
from adrelay.platforms.base import Step, StepOutcome
from adrelay.storage.db import Database

log = logging.getLogger(__name__)

Emit = Callable[[asyncpg.Connection, Envelope], Awaitable[None]]

RUNNABLE_STATES = ("queued", "running", "waiting", "rolling_back", "activating")
FORWARD_STATES = ("queued", "running", "waiting")


class LeaseLost(Exception):
    """Another runner took this run over (or it was never ours): stop touching it."""


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _load(value: Any) -> Any:
    if value is None or isinstance(value, (dict, list)):
        return value
    return orjson.loads(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunRecord:
    publish_id: str
    platform: Platform
    campaign_id: str
    request: CampaignPublishRequested
    goal: str
    state: str
    fencing_token: int
    attempt: int
    last_error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    created_at: datetime | None = None

    @property
    def target(self) -> PlatformTarget:
        return next(t for t in self.request.targets if t.platform == self.platform)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunRecord:
        return cls(
            publish_id=row["publish_id"],
            platform=Platform(row["platform"]),
            campaign_id=row["campaign_id"],
            request=CampaignPublishRequested.model_validate(_load(row["request"])),
            goal=row["goal"],
            state=row["state"],
            fencing_token=row["fencing_token"],
            attempt=row["attempt"],
            last_error=_load(row["last_error"]),
            result=_load(row["result"]),
            created_at=row["created_at"],
        )


@dataclass
class StepRecord:
    step_key: str
    kind: str
    tag: str
    state: str = "pending"
    external_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    started_at: datetime | None = None
    started_token: int | None = None
    outcome_unknown: bool = False
    deleted_at: datetime | None = None
    error: dict[str, Any] | None = None

    @property
    def outcome(self) -> StepOutcome | None:
        if self.external_id is None:
            return None
        return StepOutcome(self.external_id, self.data)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StepRecord:
        return cls(
            step_key=row["step_key"],
            kind=row["kind"],
            tag=row["tag"],
            state=row["state"],
            external_id=row["external_id"],
            data=_load(row["data"]) or {},
            attempts=row["attempts"],
            started_at=row["started_at"],
            started_token=row["started_token"],
            outcome_unknown=row["outcome_unknown"],
            deleted_at=row["deleted_at"],
            error=_load(row["error"]),
        )


class Journal:
    def __init__(
        self, db: Database, platform: Platform, owner: str, emit: Emit, lease_s: float = 30.0
    ) -> None:
        self.db = db
        self.platform = platform
        self.owner = owner
        self.emit = emit
        self.lease_s = lease_s
        self.channel = f"adrelay_runs_{platform.value}"

    # ---- requests (from the Kafka agents, inside their inbox transaction) -------------------------
    async def _lock_run(self, conn: asyncpg.Connection, publish_id: str) -> asyncpg.Record | None:
        """The run's state and goal, its row locked until the caller's transaction ends."""
        return await conn.fetchrow(
            "select state, goal from publisher_runs where publish_id = $1 and platform = $2 for update",
            publish_id,
            self.platform.value,
        )

    async def enqueue(
        self, conn: asyncpg.Connection, envelope: Envelope, request: CampaignPublishRequested
    ) -> str:
        """Record a publish request for this platform. A new run is queued; a failed run of the same
        publish is reopened (retry: finished steps stay finished); anything else is left alone."""
        assert envelope.publish_id is not None
        # Insert first: a rollback arriving at the same moment on the other topic may insert too,
        # and "on conflict do nothing" makes the loser wait for the winner and then read its row.
        inserted = await conn.fetchval(
            """
            insert into publisher_runs (publish_id, platform, campaign_id, request, attempt)
            values ($1, $2, $3, $4::jsonb, $5)
            on conflict (publish_id, platform) do nothing
            returning true
            """,
            envelope.publish_id,
            self.platform.value,
            envelope.campaign_id,
            _json(request.model_dump(mode="json")),
            request.attempt,
        )
        if inserted:
            await conn.execute("select pg_notify($1, $2)", self.channel, envelope.publish_id)
            return "queued"
        row = await self._lock_run(conn, envelope.publish_id)
        assert row is not None  # the conflict says it exists, and runs are never deleted
        if row["goal"] == "rollback":
            return "rolled_back"  # rolled back already (or before it started): never publish again
        elif row["state"] == "failed" and row["goal"] == "publish":
            await conn.execute(
                """
                update publisher_runs set state = 'queued', next_attempt_at = now(), attempt = $3,
                       last_error = null, updated_at = now()
                where publish_id = $1 and platform = $2
                """,
                envelope.publish_id,
                self.platform.value,
                request.attempt,
            )
        else:
            return "unchanged"
        await conn.execute("select pg_notify($1, $2)", self.channel, envelope.publish_id)
        return "reopened"

    async def set_goal(self, conn: asyncpg.Connection, publish_id: str, campaign_id: str, goal: str) -> str:
        """A rollback or activation command: the run's goal changes and it becomes runnable."""
        row = await self._lock_run(conn, publish_id)
        if row is None:
            if goal != "rollback":
                return "unknown_run"
            # The rollback overtook its publish request (they travel on different topics): remember it,
            # so the request, when it comes, creates nothing. If the request is being recorded at this
            # very moment, its row wins and the rollback applies to it below.
            inserted = await conn.fetchval(
                """
                insert into publisher_runs (publish_id, platform, campaign_id, request, goal, state)
                values ($1, $2, $3, null, 'rollback', 'rolled_back')
                on conflict (publish_id, platform) do nothing
                returning true
                """,
                publish_id,
                self.platform.value,
                campaign_id,
            )
            if inserted:
                return "rolled_back_before_start"
            row = await self._lock_run(conn, publish_id)
            assert row is not None
        state, current = row["state"], row["goal"]
        if goal == "rollback":
            if current == "rollback" and state == "needs_manual_cleanup":
                new_state = "rolling_back"  # an operator asked to retry the deletes that failed
            elif current == "rollback":
                return "unchanged"
            else:
                new_state = state if state in FORWARD_STATES else "rolling_back"
        elif goal == "activate":
            if current in {"activate", "rollback"} or state not in {"succeeded"}:
                return "unchanged" if current == "activate" else "refused"
            new_state = "activating"
        else:
            raise ValueError(goal)
        await conn.execute(
            """
            update publisher_runs set goal = $3, state = $4, next_attempt_at = now(), updated_at = now()
            where publish_id = $1 and platform = $2
            """,
            publish_id,
            self.platform.value,
            goal,
            new_state,
        )
        await conn.execute("select pg_notify($1, $2)", self.channel, publish_id)
        return new_state

    # ---- leases ----------------------------------------------------------------------------------
    async def claim(self, limit: int, exclude: Iterable[str] = ()) -> list[RunRecord]:
        """Take up to `limit` runnable runs whose timer is due and whose lease is free, expired, or our
        own from before a restart (the caller excludes the runs it is driving right now)."""
        if limit <= 0:
            return []
        async with self.db.connection() as conn:  # one statement: atomic without a transaction block
            rows = await conn.fetch(
                """
                update publisher_runs r set lease_owner = $2,
                       lease_expires_at = clock_timestamp() + make_interval(secs => $3),
                       fencing_token = r.fencing_token + 1,
                       state = case when r.state in ('queued', 'waiting') then 'running' else r.state end,
                       updated_at = now()
                from (
                    select publish_id, platform from publisher_runs
                    where platform = $1 and state = any($5::text[]) and next_attempt_at <= clock_timestamp()
                      and (lease_expires_at is null or lease_expires_at < clock_timestamp()
                           or lease_owner = $2)  -- our own stale lease: this replica restarted
                      and not (publish_id = any($6::text[]))
                    order by next_attempt_at
                    limit $4
                    for update skip locked
                ) due
                where r.publish_id = due.publish_id and r.platform = due.platform
                returning r.*
                """,
                self.platform.value,
                self.owner,
                self.lease_s,
                limit,
                list(RUNNABLE_STATES),
                list(exclude),
            )
        return [RunRecord.from_row(r) for r in rows]

    async def renew(self, run: RunRecord) -> bool:
        async with self.db.connection() as conn:
            renewed = await conn.fetchval(
                """
                update publisher_runs set lease_expires_at = clock_timestamp() + make_interval(secs => $4)
                where publish_id = $1 and platform = $2 and fencing_token = $3 and lease_owner = $5
                returning true
                """,
                run.publish_id,
                self.platform.value,
                run.fencing_token,
                self.lease_s,
                self.owner,
            )
        return bool(renewed)

    async def _fence(self, conn: asyncpg.Connection, run: RunRecord) -> str:
        """Inside a transaction: prove the lease is still ours; return the run's current goal."""
        row = await conn.fetchrow(
            "select fencing_token, goal from publisher_runs where publish_id = $1 and platform = $2 for share",
            run.publish_id,
            self.platform.value,
        )
        if row is None or row["fencing_token"] != run.fencing_token:
            raise LeaseLost(f"run {run.publish_id}/{self.platform.value} is no longer ours")
        goal: str = row["goal"]
        return goal

    async def current_goal(self, run: RunRecord) -> str:
        async with self.db.transaction() as conn:
            return await self._fence(conn, run)

    async def park(
        self, run: RunRecord, state: str, at: datetime, error: PlatformError | None = None
    ) -> None:
        """Release the lease until `at` (a durable timer): waits never hold a runner."""
        async with self.db.transaction() as conn:
            await self._fence(conn, run)
            await conn.execute(
                """
                update publisher_runs set state = $3, next_attempt_at = $4, lease_owner = null,
                       lease_expires_at = null, last_error = coalesce($5::jsonb, last_error), updated_at = now()
                where publish_id = $1 and platform = $2
                """,
                run.publish_id,
                self.platform.value,
                state,
                at,
                _json(error.model_dump(mode="json")) if error else None,
            )

    async def finish(
        self,
        run: RunRecord,
        state: str,
        events: list[Envelope],
        *,
        result: Mapping[str, Any] | None = None,
        error: PlatformError | None = None,
        also: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    ) -> None:
        """Terminal (for the current goal) state, the result events and any side records, atomically."""
        async with self.db.transaction() as conn:
            await self._fence(conn, run)
            if also is not None:
                await also(conn)
            await conn.execute(
                """
                update publisher_runs set state = $3, lease_owner = null, lease_expires_at = null,
                       result = coalesce($4::jsonb, result), last_error = $5::jsonb, updated_at = now()
                where publish_id = $1 and platform = $2
                """,
                run.publish_id,
                self.platform.value,
                state,
                _json(result) if result is not None else None,
                _json(error.model_dump(mode="json")) if error else None,
            )
            for event in events:
                await self.emit(conn, event)

    async def emit_now(self, run: RunRecord, events: list[Envelope]) -> None:
        """Progress heartbeats: emitted through the outbox, fenced like every write."""
        async with self.db.transaction() as conn:
            await self._fence(conn, run)
            for event in events:
                await self.emit(conn, event)

    # ---- steps -----------------------------------------------------------------------------------
    async def steps(self, run: RunRecord) -> dict[str, StepRecord]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                "select * from publish_steps where publish_id = $1 and platform = $2",
                run.publish_id,
                self.platform.value,
            )
        return {r["step_key"]: StepRecord.from_row(r) for r in rows}

    async def ensure_steps(
        self,
        run: RunRecord,
        steps: list[Step],
        tags: Mapping[str, str],
        heartbeat: Callable[[Mapping[str, StepRecord]], Envelope] | None = None,
    ) -> tuple[str, dict[str, StepRecord]]:
        """Record the plan's steps (each once, whatever was recorded before) and read back every step
        with the run's goal, emitting `heartbeat(steps)` (the run's first): one fenced transaction, a
        publish's first round trips kept few."""
        async with self.db.transaction() as conn:
            goal = await self._fence(conn, run)
            rows = await conn.fetch(
                """
                with added as (
                    insert into publish_steps (publish_id, platform, step_key, kind, tag)
                    select $1, $2, key, kind, tag from unnest($3::text[], $4::text[], $5::text[]) as t(key, kind, tag)
                    on conflict do nothing
                    returning *
                )
                select * from added
                union all  -- this select sees the table as before the insert: the earlier steps
                select * from publish_steps where publish_id = $1 and platform = $2
                """,
                run.publish_id,
                self.platform.value,
                [s.key for s in steps],
                [s.kind.value for s in steps],
                [tags[s.key] for s in steps],
            )
            records = {r["step_key"]: StepRecord.from_row(r) for r in rows}
            if heartbeat is not None:
                await self.emit(conn, heartbeat(records))
        return goal, records

    async def _update_step(
        self, run: RunRecord, step_key: str, sql: str, *args: Any, events: Iterable[Envelope] = ()
    ) -> StepRecord:
        """One fenced write: the step changes only while the run's fencing token is still ours. Without
        events it is a single statement; with events (heartbeats) they commit with it."""
        token_param = f"${4 + len(args)}"
        statement = (
            f"with fence as (select 1 from publisher_runs where publish_id = $1 and platform = $2 "
            f"and fencing_token = {token_param} for share) "
            f"update publish_steps set {sql} where publish_id = $1 and platform = $2 and step_key = $3 "
            "and exists (select 1 from fence) returning *"
        )
        params = (run.publish_id, self.platform.value, step_key, *args, run.fencing_token)
        pending = list(events)
        if pending:
            async with self.db.transaction() as conn:
                row = await conn.fetchrow(statement, *params)
                if row is not None:
                    for event in pending:
                        await self.emit(conn, event)
        else:
            async with self.db.connection() as conn:
                row = await conn.fetchrow(statement, *params)
        if row is None:
            raise LeaseLost(f"run {run.publish_id}/{self.platform.value} is no longer ours")
        return StepRecord.from_row(row)

    async def step_started(self, run: RunRecord, step_key: str) -> StepRecord:
        """Intent, written before the platform call."""
        return await self._update_step(
            run,
            step_key,
            "state = 'started', attempts = attempts + 1, started_at = clock_timestamp(), started_token = $4, "
            "outcome_unknown = false, error = null",
            run.fencing_token,
        )

    async def step_outcome_unknown(self, run: RunRecord, step_key: str) -> StepRecord:
        return await self._update_step(run, step_key, "outcome_unknown = true")

    async def step_refused(self, run: RunRecord, step_key: str, error: PlatformError) -> StepRecord:
        """The platform answered with an error: nothing was created; the step is pending again."""
        return await self._update_step(
            run, step_key, "state = 'pending', error = $4::jsonb", _json(error.model_dump(mode="json"))
        )

    async def step_succeeded(
        self, run: RunRecord, step_key: str, outcome: StepOutcome, events: Iterable[Envelope] = ()
    ) -> StepRecord:
        return await self._update_step(
            run,
            step_key,
            "state = 'succeeded', external_id = $4, data = $5::jsonb, finished_at = clock_timestamp(), "
            "outcome_unknown = false, error = null",
            outcome.external_id,
            _json(dict(outcome.data)),
            events=events,
        )

    async def step_waiting(self, run: RunRecord, step_key: str, outcome: StepOutcome) -> StepRecord:
        return await self._update_step(
            run,
            step_key,
            "state = 'waiting', external_id = $4, data = $5::jsonb, outcome_unknown = false",
            outcome.external_id,
            _json(dict(outcome.data)),
        )

    async def step_deleted(self, run: RunRecord, step_key: str) -> StepRecord:
        return await self._update_step(run, step_key, "state = 'deleted', deleted_at = clock_timestamp()")

    async def step_absent(self, run: RunRecord, step_key: str) -> StepRecord:
        """A rollback proved an unconfirmed create left nothing behind."""
        return await self._update_step(run, step_key, "state = 'absent', finished_at = clock_timestamp()")

    # ---- media cache -----------------------------------------------------------------------------
    async def cached_media(self, account_id: str, sha256: str) -> StepOutcome | None:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                "select external_id, data from media_uploads where platform = $1 and account_id = $2 and sha256 = $3",
                self.platform.value,
                account_id,
                sha256,
            )
        return StepOutcome(row["external_id"], _load(row["data"]) or {}) if row else None

    async def remember_media(self, account_id: str, sha256: str, outcome: StepOutcome) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                """
                insert into media_uploads (platform, account_id, sha256, external_id, data)
                values ($1, $2, $3, $4, $5::jsonb) on conflict do nothing
                """,
                self.platform.value,
                account_id,
                sha256,
                outcome.external_id,
                _json(dict(outcome.data)),
            )


async def forget_cached_media(
    conn: asyncpg.Connection, run: RunRecord, account_id: str, step_keys: list[str]
) -> None:
    """Inside `finish`: the cache named media a later step could not use (the platform may have deleted
    them since). Drop those cache entries, and put this run's steps that took them from the cache back
    to pending, so a retry uploads again. Those steps created nothing in this publish (invariant 1)."""
    await conn.execute(
        """
        with served as (
            select external_id from publish_steps
            where publish_id = $1 and platform = $2 and step_key = any($3::text[])
        ),
        dropped as (
            delete from media_uploads where platform = $2 and account_id = $4
              and external_id in (select external_id from served)
        )
        update publish_steps set state = 'pending', external_id = null, data = '{}'::jsonb,
               finished_at = null
        where publish_id = $1 and platform = $2 and step_key = any($3::text[])
        """,
        run.publish_id,
        run.platform.value,
        step_keys,
        account_id,
    )


def later(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=max(seconds, 0.0))
