"""One platform's publishing engine in the bench process, built with `build_engine` (no Kafka).

The run rows are recorded straight into PostgreSQL through the journal — exactly what the publisher's
Kafka agent does in its inbox transaction — and the runner drives them as in the service. Events go
to the outbox table (nobody relays them here).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.events import CampaignPublishRequested, Envelope
from adrelay.messaging.outbox import Outbox
from adrelay.model import Platform
from adrelay.platforms.settings import PlatformSettings
from adrelay.publisher.tokens import tokens_factory
from adrelay.publisher.wiring import Engine, build_engine
from adrelay.storage.db import Database
from bench.calls import CallRecorder
from bench.dbprobe import DbProbe
from bench.stats import retry_db

TERMINAL = ("succeeded", "failed", "active", "activation_failed", "rolled_back", "needs_manual_cleanup")


class EngineHarness:
    def __init__(
        self,
        database_url: str,
        platform: Platform,
        target: Mapping[str, Any],
        recorder: CallRecorder,
        probe: DbProbe | None = None,
    ) -> None:
        self.database_url = database_url
        self.platform = platform
        self.target = dict(target)
        self.recorder = recorder
        self.probe = probe or DbProbe()
        self.db = Database(
            database_url, max_size=10
        )  # the engine's, the service's size (ADRELAY_DB_POOL_MAX)
        self.reader = Database(database_url, max_size=3)  # the agent's writes and the bench's reads
        self.engine: Engine | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Engine:
        settings = PlatformSettings()  # read now: the caller set the limits in the environment
        tokens = tokens_factory(self.db, settings, PostgresLimiter(self.db))
        outbox = Outbox(f"{self.platform.value}-publisher")
        self.engine = build_engine(self.platform, self.db, outbox.add, settings, tokens)
        self.recorder.attach(self.engine.workflows.adapter)
        self.probe.attach_database(self.db)
        self.probe.attach_journal(self.engine.journal)
        self._task = asyncio.create_task(self.engine.runner.run())
        return self.engine

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.engine is not None:
            await self.engine.workflows.adapter.close()
        await self.db.close()
        await self.reader.close()

    async def reset_limiter(self) -> None:
        """Forget this platform's rate-limit buckets (the bench database's `rate_limits` rows)."""
        async with self.reader.connection() as conn:
            await conn.execute("delete from rate_limits where platform = $1", self.platform.value)

    async def enqueue(self, campaign: Mapping[str, Any], publish_id: str | None = None) -> str:
        """Record a publish request for this platform, as the publisher's agent does."""
        assert self.engine is not None
        publish_id = publish_id or f"bench-{self.platform.value}-{uuid.uuid4().hex[:12]}"
        request = CampaignPublishRequested.model_validate(
            {"campaign": dict(campaign), "targets": [self.target]}
        )
        envelope = Envelope.new(request, campaign_id=request.campaign.id, publish_id=publish_id)
        async with self.reader.transaction() as conn:
            await self.engine.journal.enqueue(conn, envelope, request)
        return publish_id

    async def activate(self, publish_id: str, campaign_id: str) -> None:
        """An activate command, as the publisher's agent applies it."""
        assert self.engine is not None
        async with self.reader.transaction() as conn:
            await self.engine.journal.set_goal(conn, publish_id, campaign_id, "activate")

    async def states(self, publish_ids: list[str]) -> dict[str, str]:
        return await retry_db(lambda: self._states(publish_ids), "run states")

    async def _states(self, publish_ids: list[str]) -> dict[str, str]:
        async with self.reader.connection() as conn:
            rows = await conn.fetch(
                "select publish_id, state from publisher_runs where platform = $1 and publish_id = any($2::text[])",
                self.platform.value,
                publish_ids,
            )
        return {r["publish_id"]: r["state"] for r in rows}

    async def wait(
        self, publish_ids: list[str], states: tuple[str, ...] = TERMINAL, timeout: float = 600
    ) -> dict[str, str]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            current = await self.states(publish_ids)
            if all(current.get(p) in states for p in publish_ids):
                return current
            if asyncio.get_running_loop().time() > deadline:
                pending = {p: s for p, s in current.items() if s not in states}
                raise TimeoutError(f"{self.platform.value}: runs not finished in {timeout}s: {pending}")
            await asyncio.sleep(0.1)

    async def timings(self, publish_ids: list[str]) -> dict[str, tuple[float, float, str]]:
        """(created, finished, state) per run, from the database's own clock (epoch seconds)."""
        return await retry_db(lambda: self._timings(publish_ids), "run timings")

    async def _timings(self, publish_ids: list[str]) -> dict[str, tuple[float, float, str]]:
        async with self.reader.connection() as conn:
            rows = await conn.fetch(
                """
                select publish_id, state, extract(epoch from created_at) as created,
                       extract(epoch from updated_at) as finished
                from publisher_runs where platform = $1 and publish_id = any($2::text[])
                """,
                self.platform.value,
                publish_ids,
            )
        return {r["publish_id"]: (float(r["created"]), float(r["finished"]), r["state"]) for r in rows}

    async def step_rows(self, publish_ids: list[str]) -> list[dict[str, Any]]:
        async with self.reader.connection() as conn:
            rows = await conn.fetch(
                """
                select publish_id, step_key, kind, state, attempts,
                       extract(epoch from started_at) as started, extract(epoch from finished_at) as finished
                from publish_steps where platform = $1 and publish_id = any($2::text[])
                """,
                self.platform.value,
                publish_ids,
            )
        return [dict(r) for r in rows]
