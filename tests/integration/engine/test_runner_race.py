"""Two runners, one run: leases with fencing tokens (invariant 1).

Both claim at once: exactly one gets it. Then the winner stalls past its lease (no heartbeat) while its
creates are in flight; the other takes over with a newer fencing token. The stale runner's next journal
write is refused, so it can never start another create; the new owner waits until the stale creates
cannot still be in flight, finds them by tag, and finishes. The sandbox then holds one object per step.
"""

from __future__ import annotations

import asyncio
import signal
import uuid

import asyncpg
import httpx
import pytest

from adrelay.connections import ConnectionManager, ConnectionTokens
from adrelay.engine.journal import Journal, LeaseLost, RunRecord
from adrelay.engine.media import MediaStore
from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.engine.workflow import EngineTimings, Workflows
from adrelay.events import CampaignPublishRequested, Envelope
from adrelay.messaging.outbox import Outbox
from adrelay.model import Campaign, Platform
from adrelay.platforms.base import PublishContext, make_tag
from adrelay.platforms.registry import adapter_for
from adrelay.platforms.settings import PlatformSettings
from adrelay.storage.db import Database
from tests.conftest import RuntimeEnv, Stack
from tests.support.processes import ServiceProcess
from tests.support.publishing import objects
from tests.support.samples import campaign_dict, fresh_media

PLATFORM = Platform.META
LEASE_S = 1.0


def _engine(db: Database, owner: str, manager: ConnectionManager) -> tuple[Journal, Workflows]:
    settings = PlatformSettings()
    journal = Journal(db, PLATFORM, owner=owner, emit=Outbox("meta-publisher").add, lease_s=LEASE_S)
    adapter = adapter_for(PLATFORM, settings, PostgresLimiter(db))
    return journal, Workflows(journal, adapter, timings=EngineTimings(http_timeout_s=settings.http_timeout_s))


def _context(run: RunRecord, manager: ConnectionManager, media: MediaStore) -> PublishContext:
    assert run.request is not None
    return PublishContext(
        publish_id=run.publish_id,
        campaign=run.request.campaign,
        target=run.target,
        tokens=ConnectionTokens(manager, run.target.connection_id),
        media_store=media,
    )


async def test_invariant_1_two_runners_racing_for_one_run_create_each_object_once(
    runtime_env: RuntimeEnv, stack: Stack, services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    database = Database(runtime_env.database_url)
    manager = ConnectionManager(database, PlatformSettings())
    media = MediaStore()
    names = fresh_media(stack.media.files)
    body = campaign_dict(media_base=stack.media.base_url, media_files=stack.media.files, media_names=names)
    campaign = Campaign.model_validate(body)
    target = next(t for t in stack.targets() if t["platform"] == PLATFORM.value)
    request = CampaignPublishRequested.model_validate({"campaign": body, "targets": [target]})
    publish_id = f"pub-race-{uuid.uuid4().hex[:10]}"
    publisher = services["meta-publisher"]
    assert publisher.proc is not None
    publisher.proc.send_signal(signal.SIGSTOP)  # the session's own runner must not join the race
    a_journal, a_flows = _engine(database, "race-a", manager)
    b_journal, b_flows = _engine(database, "race-b", manager)
    async with httpx.AsyncClient() as client:
        # Slow calls, so the first runner's lease lapses mid-publish; videos ready at once, so it never
        # parks (and so never hands the run over cleanly) before the race.
        await client.post(
            f"{stack.sandbox('meta')}/_sandbox/config", json={"base_latency_ms": 400, "video_processing_s": 0}
        )
    try:
        async with database.transaction() as conn:
            envelope = Envelope.new(request, campaign_id=campaign.id, publish_id=publish_id)
            await a_journal.enqueue(conn, envelope, request)

        claims = await asyncio.gather(a_journal.claim(1000), b_journal.claim(1000))
        mine = [[r for r in c if r.publish_id == publish_id] for c in claims]
        assert sorted(len(m) for m in mine) == [0, 1], "exactly one runner may hold the run"
        winner_flows, loser_journal, loser_flows = (
            (a_flows, b_journal, b_flows) if mine[0] else (b_flows, a_journal, a_flows)
        )
        stale_run = (mine[0] or mine[1])[0]

        # The winner drives without renewing its lease: it loses the run while its creates are in flight.
        stale = asyncio.create_task(winner_flows.drive(stale_run, _context(stale_run, manager, media)))
        while await db.fetchval(
            "select lease_expires_at > clock_timestamp() from publisher_runs where publish_id = $1",
            publish_id,
        ):
            await asyncio.sleep(0.05)  # the winner's lease lapses (it never renews)
        fresh_claim = [r for r in await loser_journal.claim(1000) if r.publish_id == publish_id]
        assert len(fresh_claim) == 1, await db.fetchrow(
            "select state, next_attempt_at, now(), lease_owner, lease_expires_at, last_error from publisher_runs "
            "where publish_id = $1",
            publish_id,
        )
        fresh_run = fresh_claim[0]
        assert fresh_run.fencing_token == stale_run.fencing_token + 1
        with pytest.raises(LeaseLost):
            await stale
        with pytest.raises(LeaseLost):
            await winner_flows.journal.step_started(stale_run, "campaign")

        # The new owner finishes (renewing its lease, as a runner does), parking when it must wait.
        async with httpx.AsyncClient() as client:
            await client.post(f"{stack.sandbox('meta')}/_sandbox/config", json={"base_latency_ms": 0})
        run = fresh_run
        for _ in range(60):
            renewer = asyncio.create_task(_renew(loser_journal, run))
            try:
                await loser_flows.drive(run, _context(run, manager, media))
            finally:
                renewer.cancel()
            state = await db.fetchval(
                "select state from publisher_runs where publish_id = $1 and platform = 'meta'", publish_id
            )
            if state == "succeeded":
                break
            await asyncio.sleep(1.0)
            reclaimed = [r for r in await loser_journal.claim(1000) if r.publish_id == publish_id]
            if reclaimed:
                run = reclaimed[0]
        assert state == "succeeded"
    finally:
        async with httpx.AsyncClient() as client:
            await client.post(
                f"{stack.sandbox('meta')}/_sandbox/config",
                json={"base_latency_ms": 0, "video_processing_s": 0.5},
            )
        publisher.proc.send_signal(signal.SIGCONT)
        await manager.close()
        await media.close()
        await database.close()

    steps = await db.fetch(
        "select step_key, kind, external_id from publish_steps where publish_id = $1 and platform = 'meta'",
        publish_id,
    )
    held = [o for o in await objects(stack.sandbox("meta")) if not o["deleted"] and "label" not in o["kind"]]
    for step in steps:
        tagged = [o for o in held if make_tag(publish_id, step["step_key"]) in (o["name"] or "")]
        if step["kind"] != "media":
            assert [o["id"] for o in tagged] == [step["external_id"]], (step["step_key"], tagged)


async def _renew(journal: Journal, run: RunRecord) -> None:
    while True:
        await asyncio.sleep(LEASE_S / 3)
        await journal.renew(run)
