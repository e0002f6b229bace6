"""The baseline: the seed's calls one after another — one platform after the other, each object after
the other, no parallelism, no journal, no Kafka.

It uses the production adapters (their clients, mappers, and the same PostgreSQL rate limiter the
services use, so both face the same pacing) and calls `create` for every step in plan order, waiting
for each media to be ready before the next call, then switches every object live one at a time (ads,
then ad sets, then the campaign; on each platform in turn).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any

from adrelay.connections import ConnectionManager
from adrelay.engine.media import MediaStore
from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.events import CampaignPublishRequested
from adrelay.model import Platform
from adrelay.platforms.base import NotReady, PlatformAdapter, PublishContext, StepKind, TokenSource
from adrelay.platforms.registry import adapter_for
from adrelay.platforms.settings import PlatformSettings
from adrelay.storage.db import Database

ORDER = (Platform.META, Platform.TIKTOK, Platform.SNAPCHAT)
ACTIVATION_KINDS = (StepKind.AD, StepKind.AD_SET, StepKind.CAMPAIGN)


class _Token(TokenSource):
    def __init__(self, token: str) -> None:
        self.token = token

    async def access_token(self) -> str:
        return self.token

    async def after_auth_error(self, failed_token: str) -> str | None:
        return None


class SequentialClient:
    def __init__(self, database_url: str, connection_ids: Mapping[str, str]) -> None:
        self.db = Database(database_url, max_size=2)
        self.settings = PlatformSettings()
        limiter = PostgresLimiter(self.db)
        self.adapters: dict[Platform, PlatformAdapter] = {
            p: adapter_for(p, self.settings, limiter) for p in ORDER
        }
        self.manager = ConnectionManager(self.db, self.settings)
        self.connection_ids = dict(connection_ids)
        self.media = MediaStore()
        self.calls = 0

    async def close(self) -> None:
        for adapter in self.adapters.values():
            await adapter.close()
        await self.manager.close()
        await self.db.close()

    async def publish(self, campaign: Mapping[str, Any], targets: list[dict[str, Any]]) -> dict[str, float]:
        """One campaign to the three platforms, then live; seconds per part."""
        request = CampaignPublishRequested.model_validate({"campaign": dict(campaign), "targets": targets})
        publish_id = f"baseline-{uuid.uuid4().hex[:12]}"
        contexts: dict[Platform, PublishContext] = {}
        times: dict[str, float] = {}
        started = time.perf_counter()
        for platform in ORDER:
            t0 = time.perf_counter()
            target = next(t for t in request.targets if t.platform is platform)
            token = await self.manager.access_token(self.connection_ids[platform.value])
            ctx = PublishContext(
                publish_id=publish_id,
                campaign=request.campaign,
                target=target,
                tokens=_Token(token),
                media_store=self.media,
            )
            adapter = self.adapters[platform]
            for step in adapter.plan(request.campaign):
                outcome = await adapter.create(step, ctx)
                ready = await adapter.check_ready(step, ctx, outcome)
                while isinstance(ready, NotReady):
                    await asyncio.sleep(min(ready.retry_after_s, 0.5))
                    ready = await adapter.check_ready(step, ctx, outcome)
                ctx.outcomes[step.key] = ready
            contexts[platform] = ctx
            times[f"create_{platform.value}"] = time.perf_counter() - t0
        for platform in ORDER:
            t0 = time.perf_counter()
            ctx = contexts[platform]
            for kind in ACTIVATION_KINDS:
                for key, outcome in ctx.outcomes.items():
                    if key.split(":", 1)[0] == kind.value:
                        await self.adapters[platform].activate(ctx, {key: outcome.external_id})
            times[f"activate_{platform.value}"] = time.perf_counter() - t0
        times["total"] = time.perf_counter() - started
        return times
