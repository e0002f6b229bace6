"""Every event delivered twice gives the same end state as once (invariant 2), and a burst at a
platform's rate limit meets no throttle: limits are respected before they are hit."""

from __future__ import annotations

import asyncio

from adrelay import topics
from adrelay.events import encode
from adrelay.orchestrator.store import publish_id_for
from tests.conftest import RuntimeEnv, Stack
from tests.support.kafka import envelopes, produce, read_topic
from tests.support.processes import ServiceProcess
from tests.support.publishing import (
    command,
    log_marks,
    objects,
    requests_log,
    submit,
    wait_status,
    writes_since,
)

PLATFORMS = ("meta", "tiktok", "snapchat")
FLOW_TOPICS = (topics.PUBLISH_REQUESTED, topics.PLATFORM_RESULTS, topics.PLATFORM_COMMANDS, topics.STATUS)


async def test_invariant_2_every_event_of_a_publish_delivered_again_changes_nothing(
    runtime_env: RuntimeEnv, stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    publish_id = publish_id_for(body["idempotency_key"])
    await submit(services["orchestrator"], body)
    first = await wait_status(services["orchestrator"], publish_id)
    assert first["status"] == "published", first
    before = {p: len(await objects(stack.sandbox(p))) for p in PLATFORMS}
    marks = await log_marks(stack)

    replayed = 0
    for spec in (topics.COMMANDS, *FLOW_TOPICS):
        records = await read_topic(runtime_env.bootstrap, spec.name, until=lambda rs: False, timeout=2)
        for envelope in envelopes(records):
            if envelope.publish_id == publish_id or (
                envelope.type == "PublishCampaign" and envelope.campaign_id == body["campaign"]["id"]
            ):
                await produce(
                    runtime_env.bootstrap, spec.name, encode(envelope), envelope.key, envelope.headers()
                )
                replayed += 1
    assert replayed >= 20, replayed  # the command, the fan-out, heartbeats, results, activations, statuses

    # Give every consumer time to see the copies, then compare.
    await asyncio.sleep(8)
    again = await wait_status(services["orchestrator"], publish_id)
    assert again["status"] == "published"
    assert {p: again["platforms"][p]["external_ids"] for p in PLATFORMS} == {
        p: first["platforms"][p]["external_ids"] for p in PLATFORMS
    }
    assert {p: len(await objects(stack.sandbox(p))) for p in PLATFORMS} == before
    assert await writes_since(stack, marks) == {p: [] for p in PLATFORMS}, "a copy caused a platform write"
    for proc in services.values():
        assert proc.alive()


async def test_a_burst_at_snapchats_rate_limit_meets_no_throttle(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    """Three campaigns at once through one Snapchat token: ~40 calls against 10 requests/s per token."""
    marks = await log_marks(stack)
    bodies = [command(stack) for _ in range(3)]
    for body in bodies:
        await submit(services["orchestrator"], body)
    results = await asyncio.gather(
        *(
            wait_status(services["orchestrator"], publish_id_for(b["idempotency_key"]), timeout=180)
            for b in bodies
        )
    )
    assert [r["status"] for r in results] == ["published"] * 3, [r["status"] for r in results]
    calls = await requests_log(stack.sandbox("snapchat"), marks["snapchat"])
    assert len(calls) >= 40, len(calls)
    assert [c for c in calls if c["status"] == 429] == [], "a call was throttled"
