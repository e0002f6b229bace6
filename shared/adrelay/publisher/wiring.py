"""A publisher service: the shared engine wired to one platform adapter (the same for every platform).

The Kafka agents only record: a publish request becomes a run row (inbox + run, one transaction); a
rollback or activate command changes the run's goal. The runner does the work from PostgreSQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import asyncpg

from adrelay import topics
from adrelay.engine.journal import Emit, Journal
from adrelay.engine.media import MediaStore
from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.engine.retry import RetryPolicy
from adrelay.engine.runner import Runner, TokensFor, default_owner
from adrelay.engine.workflow import EngineTimings, Workflows
from adrelay.events import (
    ActivateRequested,
    CampaignPublishRequested,
    Envelope,
    PlatformRolledBack,
    RollbackRequested,
    stable_event_id,
)
from adrelay.messaging.consumer import PermanentError
from adrelay.messaging.service import ServiceRuntime
from adrelay.model import Platform
from adrelay.platforms.registry import adapter_for
from adrelay.platforms.settings import PlatformSettings
from adrelay.publisher.tokens import tokens_factory
from adrelay.storage.db import Database


@dataclass
class Engine:
    """One platform's engine: the journal over the run tables and the runner that drives them."""

    journal: Journal
    workflows: Workflows
    runner: Runner


def build_engine(
    platform: Platform, db: Database, emit: Emit, settings: PlatformSettings, tokens: TokensFor
) -> Engine:
    """The engine without Kafka: what a publisher service runs, and what crash tests drive alone."""
    service = f"{platform.value}-publisher"
    limiter = PostgresLimiter(db)
    adapter = adapter_for(platform, settings, limiter)
    journal = Journal(
        db,
        platform,
        owner=os.environ.get("ADRELAY_RUNNER_ID") or default_owner(service),
        emit=emit,
        lease_s=float(os.environ.get("ADRELAY_LEASE_S", "30")),
    )
    workflows = Workflows(
        journal, adapter, RetryPolicy(), EngineTimings(http_timeout_s=settings.http_timeout_s)
    )
    runner = Runner(
        journal,
        workflows,
        tokens,
        MediaStore(),
        max_runs=int(os.environ.get("ADRELAY_MAX_RUNS", "50")),
        poll_s=float(os.environ.get("ADRELAY_RUNNER_POLL_S", "1.0")),
        dsn=db.dsn,
    )
    return Engine(journal, workflows, runner)


def build(platform: Platform) -> ServiceRuntime:
    runtime = ServiceRuntime(f"{platform.value}-publisher")
    settings = PlatformSettings()
    tokens = tokens_factory(runtime.db, settings, PostgresLimiter(runtime.db))
    engine = build_engine(platform, runtime.db, runtime.emit, settings, tokens)
    journal, runner = engine.journal, engine.runner

    async def on_publish_requested(envelope: Envelope, conn: asyncpg.Connection) -> None:
        request = envelope.payload
        assert isinstance(request, CampaignPublishRequested)
        if envelope.publish_id is None:
            raise PermanentError(
                "CampaignPublishRequested without a publish_id: nothing to correlate it with"
            )
        if platform not in {t.platform for t in request.targets}:
            return
        if request.only_platforms is not None and platform not in request.only_platforms:
            return
        await journal.enqueue(conn, envelope, request)

    async def on_platform_command(envelope: Envelope, conn: asyncpg.Connection) -> None:
        command = envelope.payload
        assert isinstance(command, (RollbackRequested, ActivateRequested))
        if command.platform is not platform or envelope.publish_id is None:
            return
        goal = "rollback" if isinstance(command, RollbackRequested) else "activate"
        outcome = await journal.set_goal(conn, envelope.publish_id, envelope.campaign_id, goal)
        if outcome == "rolled_back_before_start":
            rolled_back = PlatformRolledBack(platform=platform, outcome="rolled_back")
            await runtime.emit(
                conn,
                Envelope.new(
                    rolled_back,
                    campaign_id=envelope.campaign_id,
                    publish_id=envelope.publish_id,
                    causation=envelope,
                    event_id=stable_event_id(envelope.publish_id, platform.value, "rolled_back"),
                ),
            )

    runtime.subscribe(topics.PUBLISH_REQUESTED, on_publish_requested, {"CampaignPublishRequested"})
    runtime.subscribe(
        topics.PLATFORM_COMMANDS, on_platform_command, {"RollbackRequested", "ActivateRequested"}
    )
    runtime.background("runner", runner.run)
    return runtime
