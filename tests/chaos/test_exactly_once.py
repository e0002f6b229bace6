"""Invariant 1 under kill -9: a platform object is created at most once per (publish, step).

Each platform's engine runs alone in a process with crash points after the platform applied each kind
of create (`<platform>:<kind>:after_send`): the process dies (SIGKILL) between the platform's answer and
the journal's record of it, once per kind. After every restart the unconfirmed step is looked up by
its tag before anything is created again. At the end the sandbox holds exactly one object per step.

The session's publisher services are paused (SIGSTOP) meanwhile, so only the crashing engines drive runs.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from adrelay.engine.journal import Journal
from adrelay.events import CampaignPublishRequested, Envelope
from adrelay.messaging.outbox import Outbox
from adrelay.model import Campaign, Platform
from adrelay.platforms.base import StepKind, make_tag
from adrelay.platforms.http import Limiter
from adrelay.platforms.registry import adapter_for
from adrelay.platforms.settings import PlatformSettings
from adrelay.storage.db import Database
from tests.conftest import RuntimeEnv, Stack
from tests.support.processes import ServiceProcess, free_port
from tests.support.publishing import objects
from tests.support.samples import campaign_dict, fresh_media

PLATFORMS = (Platform.META, Platform.TIKTOK, Platform.SNAPCHAT)
TERMINAL_RUN_STATES = {"succeeded", "failed"}


@contextmanager
def paused(procs: list[ServiceProcess]) -> Iterator[None]:
    for proc in procs:
        assert proc.proc is not None
        proc.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for proc in procs:
            assert proc.proc is not None
            proc.proc.send_signal(signal.SIGCONT)


async def _enqueue(
    database_url: str, platform: Platform, request: CampaignPublishRequested, publish_id: str
) -> None:
    db = Database(database_url)
    try:
        journal = Journal(db, platform, owner="test", emit=Outbox(f"{platform.value}-publisher").add)
        envelope = Envelope.new(request, campaign_id=request.campaign.id, publish_id=publish_id)
        async with db.transaction() as conn:
            await journal.enqueue(conn, envelope, request)
    finally:
        await db.close()


async def _run_state(db: asyncpg.Pool, publish_id: str, platform: Platform) -> str:
    state: str = await db.fetchval(
        "select state from publisher_runs where publish_id = $1 and platform = $2", publish_id, platform.value
    )
    return state


async def test_invariant_1_a_kill_after_each_kind_of_create_leaves_exactly_one_object_per_step(
    runtime_env: RuntimeEnv,
    stack: Stack,
    services: dict[str, ServiceProcess],
    db: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    settings = PlatformSettings()
    targets = {t["platform"]: t for t in stack.targets()}
    publishes: dict[Platform, tuple[str, Campaign]] = {}
    for platform in PLATFORMS:
        names = fresh_media(stack.media.files)
        campaign = Campaign.model_validate(
            campaign_dict(media_base=stack.media.base_url, media_files=stack.media.files, media_names=names)
        )
        publish_id = f"pub-crash-{platform.value}-{uuid.uuid4().hex[:8]}"
        request = CampaignPublishRequested.model_validate(
            {"campaign": campaign, "targets": [targets[platform.value]]}
        )
        publishes[platform] = (publish_id, campaign)

    publishers = [services[f"{p.value}-publisher"] for p in PLATFORMS]
    engines: dict[Platform, ServiceProcess] = {}
    kinds: dict[Platform, list[StepKind]] = {}
    crashes = dict.fromkeys(PLATFORMS, 0)
    with paused(publishers):
        for platform in PLATFORMS:
            publish_id, campaign = publishes[platform]
            request = CampaignPublishRequested.model_validate(
                {"campaign": campaign.model_dump(mode="json"), "targets": [targets[platform.value]]}
            )
            await _enqueue(runtime_env.database_url, platform, request, publish_id)
            adapter = adapter_for(platform, settings, Limiter())
            kinds[platform] = sorted({s.kind for s in adapter.plan(campaign)}, key=list(StepKind).index)
            crash_at = ",".join(f"{platform.value}:{k.value}:after_send" for k in kinds[platform])
            engine = ServiceProcess(
                f"engine-{platform.value}",
                free_port(),
                dict(runtime_env),
                tmp_path,
                argv=[sys.executable, "-m", "tests.chaos.engine_main", platform.value],
            )
            engine.env.update({"ADRELAY_CRASH_AT": crash_at, "ADRELAY_RUNNER_ID": f"crash-{platform.value}"})
            engines[platform] = engine.start()
        deadline = time.monotonic() + 240
        try:
            while True:
                states = {p: await _run_state(db, publishes[p][0], p) for p in PLATFORMS}
                if all(s in TERMINAL_RUN_STATES for s in states.values()):
                    break
                assert time.monotonic() < deadline, f"runs did not finish: {states}"
                for platform, engine in engines.items():
                    if not engine.alive() and states[platform] not in TERMINAL_RUN_STATES:
                        assert engine.wait_exit(5) == -9, engine.log_tail()
                        crashes[platform] += 1
                        engine.start()
                await asyncio.sleep(0.3)
        finally:
            for engine in engines.values():
                engine.stop()

    for platform in PLATFORMS:
        publish_id, campaign = publishes[platform]
        assert await _run_state(db, publish_id, platform) == "succeeded", engines[platform].log_tail(80)
        rows = await db.fetch(
            "select step_key, kind, external_id, attempts from publish_steps where publish_id = $1 and platform = $2",
            publish_id,
            platform.value,
        )
        # Each kind's crash point fires in every fresh process until no step of that kind is left to
        # create, so there is at least one crash per kind and at most one per step.
        assert len(kinds[platform]) <= crashes[platform] <= len(rows), (platform, crashes[platform])
        # Labels carry a tag too (Meta's adlabels find creatives): they are not steps' objects.
        held = [
            o
            for o in await objects(stack.sandbox(platform.value))
            if not o["deleted"] and "label" not in o["kind"]
        ]
        ids = {o["id"] for o in held}
        for row in rows:
            tag = make_tag(publish_id, row["step_key"])
            tagged = [o for o in held if tag in (o["name"] or "")]
            assert row["external_id"], row
            if row["kind"] == StepKind.MEDIA.value:
                assert len(tagged) <= 1, (platform, row["step_key"], tagged)
            else:
                assert len(tagged) == 1, (platform, row["step_key"], tagged)
                assert tagged[0]["id"] == row["external_id"] or row["external_id"] in ids
