"""The durable schedule of the tracker's jobs, and the lease that makes one replica run a job at a time.

Each tracked campaign has two jobs (`performance`, `review`) with a due time and an interval stored
on the row (so every replica reschedules a job the same way). A replica claims due jobs with
`FOR UPDATE SKIP LOCKED`, taking a lease (owner, expiry) and a new fencing token; it renews the lease
while it works, and its results are written only while the fencing token is still its own. A replica
killed mid-job leaves a lease that expires, and another (or its restart) takes the job then.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from adrelay.storage.db import Database

PERFORMANCE = "performance"
REVIEW = "review"
JOBS = (PERFORMANCE, REVIEW)


def replica_owner() -> str:
    """Unique per process: two replicas on one host never mistake each other's leases for their own."""
    return f"{socket.gethostname()}/tracker/{os.getpid()}/{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Job:
    publish_id: str
    platform: str
    job: str
    fencing_token: int
    interval_s: float
    runs: int
    failures: int
    next_run_at: datetime

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.publish_id, self.platform, self.job)

    @classmethod
    def of(cls, row: asyncpg.Record) -> Job:
        return cls(
            publish_id=row["publish_id"],
            platform=row["platform"],
            job=row["job"],
            fencing_token=row["fencing_token"],
            interval_s=row["interval_s"],
            runs=row["runs"],
            failures=row["failures"],
            next_run_at=row["next_run_at"],
        )


class LeaseLost(Exception):
    """Another replica holds the job now: this one's results must not be written."""


class Schedule:
    def __init__(self, db: Database, owner: str, lease_s: float) -> None:
        self.db = db
        self.owner = owner
        self.lease_s = lease_s

    async def add(
        self,
        conn: asyncpg.Connection,
        publish_id: str,
        platform: str,
        job: str,
        first_at: datetime,
        interval_s: float,
    ) -> None:
        await conn.execute(
            """
            insert into tracking_schedule (publish_id, platform, job, next_run_at, interval_s)
            values ($1, $2, $3, $4, $5)
            on conflict (publish_id, platform, job) do nothing
            """,
            publish_id,
            platform,
            job,
            first_at,
            interval_s,
        )

    async def claim(
        self,
        limit: int,
        exclude: Iterable[tuple[str, str, str]] = (),
        *,
        keys: Iterable[tuple[str, str, str]] | None = None,
    ) -> list[Job]:
        """Up to `limit` due active jobs whose lease is free or expired. `keys` claims those jobs only,
        due or not (tests, and running one job now)."""
        if limit <= 0:
            return []
        excluded = [f"{p}/{pl}/{j}" for p, pl, j in exclude]
        wanted = None if keys is None else [f"{p}/{pl}/{j}" for p, pl, j in keys]
        async with self.db.transaction() as conn:
            rows = await conn.fetch(
                """
                update tracking_schedule s set lease_owner = $1,
                       lease_expires_at = clock_timestamp() + make_interval(secs => $2),
                       fencing_token = s.fencing_token + 1, updated_at = now()
                from (
                    select publish_id, platform, job from tracking_schedule
                    where state = 'active'
                      and ($5::text[] is not null or next_run_at <= clock_timestamp())
                      and (lease_expires_at is null or lease_expires_at < clock_timestamp())
                      and not ((publish_id || '/' || platform || '/' || job) = any($4::text[]))
                      and ($5::text[] is null or (publish_id || '/' || platform || '/' || job) = any($5::text[]))
                    order by next_run_at
                    limit $3
                    for update skip locked
                ) due
                where s.publish_id = due.publish_id and s.platform = due.platform and s.job = due.job
                returning s.*
                """,
                self.owner,
                self.lease_s,
                limit,
                excluded,
                wanted,
            )
        return [Job.of(r) for r in rows]

    async def renew(self, job: Job) -> bool:
        async with self.db.connection() as conn:
            renewed = await conn.fetchval(
                """
                update tracking_schedule set lease_expires_at = clock_timestamp() + make_interval(secs => $5)
                where publish_id = $1 and platform = $2 and job = $3 and fencing_token = $4 and lease_owner = $6
                returning true
                """,
                job.publish_id,
                job.platform,
                job.job,
                job.fencing_token,
                self.lease_s,
                self.owner,
            )
        return bool(renewed)

    async def fence(self, conn: asyncpg.Connection, job: Job) -> None:
        """Lock the job's row in the caller's transaction; LeaseLost when the lease is no longer ours."""
        held = await conn.fetchval(
            """
            select true from tracking_schedule
            where publish_id = $1 and platform = $2 and job = $3 and fencing_token = $4 and lease_owner = $5
            for update
            """,
            job.publish_id,
            job.platform,
            job.job,
            job.fencing_token,
            self.owner,
        )
        if not held:
            raise LeaseLost(f"{job.key}: fencing token {job.fencing_token} is no longer ours")

    async def done(self, conn: asyncpg.Connection, job: Job, next_at: datetime | None) -> None:
        """A finished run (inside `fence`'s transaction): the next due time, or None to stop the job."""
        await conn.execute(
            """
            update tracking_schedule set runs = runs + 1, failures = 0, last_run_at = now(), last_error = null,
                   last_run_by = lease_owner,
                   next_run_at = coalesce($4, next_run_at), state = case when $4::timestamptz is null then 'stopped' else state end,
                   lease_owner = null, lease_expires_at = null, updated_at = now()
            where publish_id = $1 and platform = $2 and job = $3
            """,
            job.publish_id,
            job.platform,
            job.job,
            next_at,
        )

    async def failed(self, job: Job, error: dict[str, Any], retry_at: datetime) -> None:
        async with self.db.connection() as conn:
            await conn.execute(
                """
                update tracking_schedule set failures = failures + 1, last_error = $5::jsonb, next_run_at = $6,
                       lease_owner = null, lease_expires_at = null, updated_at = now()
                where publish_id = $1 and platform = $2 and job = $3 and fencing_token = $4
                """,
                job.publish_id,
                job.platform,
                job.job,
                job.fencing_token,
                orjson.dumps(error).decode(),
                retry_at,
            )

    async def release(self, job: Job) -> None:
        """Give the job back unchanged (shutting down)."""
        async with self.db.connection() as conn:
            await conn.execute(
                """
                update tracking_schedule set lease_owner = null, lease_expires_at = null
                where publish_id = $1 and platform = $2 and job = $3 and fencing_token = $4
                """,
                job.publish_id,
                job.platform,
                job.job,
                job.fencing_token,
            )


async def stop_jobs(conn: asyncpg.Connection, publish_id: str, platform: str | None = None) -> None:
    """Every job of the publish (of one platform) stops: it is never claimed again."""
    await conn.execute(
        """
        update tracking_schedule set state = 'stopped', updated_at = now()
        where publish_id = $1 and ($2::text is null or platform = $2) and state = 'active'
        """,
        publish_id,
        platform,
    )
