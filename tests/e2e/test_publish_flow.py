"""End to end, every service a process, the sandboxes as the platforms: the main flows of issue 7.

Invariant 3 (every publish reaches a terminal state), 4 (after rolled_back no live object remains on
any platform) and 5 (a retried publish repeats no finished step).
"""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from adrelay import topics
from adrelay.orchestrator.store import publish_id_for
from adrelay.platforms.base import make_tag
from tests.conftest import RuntimeEnv, Stack
from tests.support.kafka import envelopes, read_topic
from tests.support.processes import ServiceProcess
from tests.support.publishing import (
    AD_CREATE,
    AD_SET_CREATE,
    TREE_KINDS,
    clear_faults,
    command,
    fault,
    live,
    log_marks,
    objects,
    submit,
    tree_of,
    wait_status,
    writes_since,
)

PLATFORMS = ("meta", "tiktok", "snapchat")


async def test_invariant_3_happy_path_publishes_and_activates_on_all_three_platforms(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    accepted = await submit(services["orchestrator"], body)
    result = await wait_status(services["orchestrator"], accepted["publish_id"])
    assert result["status"] == "published", result
    for platform in PLATFORMS:
        run = result["platforms"][platform]
        assert run["state"] == "active", (platform, run)
        ids = run["external_ids"]
        assert ids["campaign"]
        assert set(ids["ad_sets"]) == {"as-1", "as-2"}
        assert set(ids["ads"]) == {"ad-1-1", "ad-1-2", "ad-2-1", "ad-2-2"}
        tree = await tree_of(stack, platform, accepted["publish_id"], body)
        assert len(tree) == 1 + 2 + 4, (platform, tree)  # exactly the expected objects, no duplicates
        assert {o["id"] for o in tree} >= {ids["campaign"], *ids["ad_sets"].values(), *ids["ads"].values()}
    kinds = [e["kind"] for e in result["timeline"]]
    assert "fanned_out" in kinds and kinds.count("activated") == 3


async def test_invariant_4_a_failure_on_one_platform_rolls_back_every_platform(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    publish_id = publish_id_for(body["idempotency_key"])
    # The second ad group on TikTok is refused; Meta and Snapchat get further or finish.
    await fault(
        stack.sandbox("tiktok"),
        {
            "effect": "validation",
            "count": 1,
            "match": {
                "method": "POST",
                "path": AD_SET_CREATE["tiktok"],
                "body": {"field": "adgroup_name", "contains": make_tag(publish_id, "ad_set:as-2")},
            },
        },
    )
    try:
        await submit(services["orchestrator"], body)
        result = await wait_status(services["orchestrator"], publish_id)
    finally:
        await clear_faults(stack.sandbox("tiktok"))
    assert result["status"] == "rolled_back", result
    assert result["platforms"]["tiktok"]["error"]["category"] == "validation"
    for platform in PLATFORMS:
        tree = await tree_of(stack, platform, publish_id, body)
        assert live(tree, TREE_KINDS[platform]) == [], (platform, tree)
    assert result["platforms"]["meta"]["state"] == "rolled_back"


async def test_invariant_4_an_unknown_outcome_create_is_found_by_tag_and_rolled_back(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    publish_id = publish_id_for(body["idempotency_key"])

    def on_ad(ad: str) -> dict[str, object]:
        return {
            "method": "POST",
            "path": AD_CREATE["meta"],
            "body": {"field": "name", "contains": make_tag(publish_id, f"ad:{ad}")},
        }

    # Meta applies one ad create but its answer never arrives; a second ad is refused a moment later.
    await fault(stack.sandbox("meta"), {"effect": "drop_after_apply", "count": 1, "match": on_ad("ad-1-1")})
    await fault(
        stack.sandbox("meta"), {"effect": "latency", "latency_ms": 1500, "count": 1, "match": on_ad("ad-2-2")}
    )
    await fault(stack.sandbox("meta"), {"effect": "validation", "count": 1, "match": on_ad("ad-2-2")})
    try:
        await submit(services["orchestrator"], body)
        result = await wait_status(services["orchestrator"], publish_id, timeout=180)
    finally:
        await clear_faults(stack.sandbox("meta"))
    assert result["status"] == "rolled_back", result
    for platform in PLATFORMS:
        assert live(await tree_of(stack, platform, publish_id, body), TREE_KINDS[platform]) == []
    dropped = [
        o
        for o in await objects(stack.sandbox("meta"))
        if make_tag(publish_id, "ad:ad-1-1") in (o["name"] or "") and o["kind"] == "ad"
    ]
    assert len(dropped) == 1 and dropped[0]["deleted"], dropped  # created once, found by tag, deleted


async def test_invariant_5_keep_successful_then_a_retry_repeats_no_finished_step(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    body["partial_failure_policy"] = "keep_successful"
    publish_id = publish_id_for(body["idempotency_key"])
    await fault(
        stack.sandbox("snapchat"),
        {
            "effect": "validation",
            "count": 1,
            "match": {"method": "POST", "path": AD_CREATE["snapchat"]},
        },
    )
    try:
        await submit(services["orchestrator"], body)
        result = await wait_status(services["orchestrator"], publish_id)
    finally:
        await clear_faults(stack.sandbox("snapchat"))
    assert result["status"] == "partially_published", result
    assert result["platforms"]["snapchat"]["state"] == "failed"
    assert result["platforms"]["meta"]["state"] == "succeeded"
    marks = await log_marks(stack)
    async with httpx.AsyncClient(base_url=services["orchestrator"].url) as client:
        response = await client.post(f"/publishes/{publish_id}/retry", json={"platform": "snapchat"})
    assert response.status_code == 200, response.text
    result = await wait_status(services["orchestrator"], publish_id)
    assert result["status"] == "published", result
    writes = await writes_since(stack, marks)
    snap_creates = [w for w in writes["snapchat"] if w["method"] == "POST"]
    assert not any("/campaigns" in w["path"] and w["path"].endswith("/campaigns") for w in snap_creates)
    assert not any(w["path"].endswith("/adsquads") for w in snap_creates), "ad squads were created again"
    assert not any(w["path"].endswith("/media") or "/upload" in w["path"] for w in snap_creates)
    assert sum(1 for w in snap_creates if w["path"].endswith("/ads")) >= 1
    assert not [
        w for w in writes["meta"] if w["method"] == "POST" and not w["path"].endswith(tuple("0123456789"))
    ]


async def test_a_rejected_publish_makes_no_write_call(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    body["campaign"]["ad_sets"][0]["budget"]["amount"]["amount_minor"] = 100  # $1/day: below every minimum
    marks = await log_marks(stack)
    accepted = await submit(services["orchestrator"], body)
    result = await wait_status(services["orchestrator"], accepted["publish_id"])
    assert result["status"] == "rejected", result
    paths = {i["path"] for i in result["issues"] if i["severity"] == "error"}
    assert "ad_sets[0].budget.amount" in paths or any("budget" in p for p in paths), result["issues"]
    assert await writes_since(stack, marks) == {p: [] for p in PLATFORMS}


async def test_plan_shows_every_object_and_writes_nothing(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    marks = await log_marks(stack)
    before = {p: len(await objects(stack.sandbox(p))) for p in PLATFORMS}
    async with httpx.AsyncClient(base_url=services["orchestrator"].url, timeout=60) as client:
        response = await client.post("/plan", json=body)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["valid"], plan["errors"]
    for platform in PLATFORMS:
        kinds = [o["kind"] for o in plan["platforms"][platform]["objects"]]
        assert kinds.count("campaign") == 1 and kinds.count("ad_set") == 2 and kinds.count("ad") == 4, kinds
        assert all(o["payload"] for o in plan["platforms"][platform]["objects"])
    assert {p: len(await objects(stack.sandbox(p))) for p in PLATFORMS} == before
    writes = await writes_since(stack, marks)
    assert writes["tiktok"] == [] and writes["snapchat"] == []
    # Meta's own verdict comes from validate_only calls, which create nothing.
    assert all("validate_only" in str(w["body"]) for w in writes["meta"]), writes["meta"]
    async with httpx.AsyncClient(base_url=services["orchestrator"].url) as client:
        assert (await client.get(f"/publishes/{publish_id_for(body['idempotency_key'])}")).status_code == 404


async def test_the_same_command_twice_is_one_publish_and_a_changed_payload_is_refused(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    first = await submit(services["orchestrator"], body)
    await wait_status(
        services["orchestrator"], first["publish_id"], {"publishing", "activating", "published"}
    )
    second = await submit(services["orchestrator"], body)
    assert second["publish_id"] == first["publish_id"] and second.get("duplicate") is True
    changed = {**body, "campaign": {**body["campaign"], "name": "another name"}}
    async with httpx.AsyncClient(base_url=services["orchestrator"].url) as client:
        response = await client.post("/publishes", json=changed)
    assert response.status_code == 409, response.text
    assert first["publish_id"] in response.json()["error"]
    result = await wait_status(services["orchestrator"], first["publish_id"])
    assert result["status"] == "published"


async def test_a_publish_waits_for_reauthentication_and_resumes_by_itself(
    stack: Stack, services: dict[str, ServiceProcess], runtime_env: RuntimeEnv
) -> None:
    from sandbox.meta import fixtures as meta

    started = datetime.now(UTC)  # earlier tests may have needed re-authentication of this connection too
    # Meta refuses the person's token when the connection is checked: Meta tokens cannot be refreshed.
    await fault(
        stack.sandbox("meta"),
        {"effect": "expired_token", "count": 1, "match": {"method": "GET", "path": r"/v\d+\.0/act_\d+$"}},
    )
    async with httpx.AsyncClient(base_url=services["orchestrator"].url, timeout=30) as client:
        checked = (await client.post("/connections/demo-meta/check")).json()
    await clear_faults(stack.sandbox("meta"))
    assert checked["connection"]["status"] == "reauth_required", checked
    body = command(stack)
    publish_id = publish_id_for(body["idempotency_key"])
    await submit(services["orchestrator"], body)
    waiting = await wait_status(services["orchestrator"], publish_id, {"awaiting_reauth"})
    assert waiting["platforms"]["meta"]["state"] == "awaiting_reauth"

    def reauth_events(records: list) -> list:
        return [
            e
            for e in envelopes(records, "ReauthRequired")
            if e.payload.connection_id == "demo-meta" and e.occurred_at >= started
        ]

    notices = await read_topic(
        runtime_env.bootstrap, topics.NOTIFICATIONS.name, until=lambda rs: bool(reauth_events(rs))
    )
    reauth = reauth_events(notices)
    assert len(reauth) == 1 and reauth[0].payload.platform.value == "meta"
    assert meta.SYSTEM_USER_TOKEN not in str(reauth[0].model_dump())
    async with httpx.AsyncClient(base_url=services["orchestrator"].url) as client:
        response = await client.post(
            "/connections/demo-meta/reauth",
            json={"credentials": {"system_user_token": meta.SYSTEM_USER_TOKEN}},
        )
    assert response.status_code == 200, response.text
    result = await wait_status(services["orchestrator"], publish_id)
    assert result["status"] == "published", result


async def test_a_publish_naming_a_revoked_connection_is_rejected_and_reaches_no_platform(
    stack: Stack, services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    from sandbox.meta import fixtures as meta

    connection_id = f"meta-revoked-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=services["orchestrator"].url, timeout=30) as client:
        created = await client.post(
            "/connections",
            json={
                "platform": "meta",
                "display_name": "handed back",
                "id": connection_id,
                "credentials": {"system_user_token": meta.SYSTEM_USER_TOKEN},
            },
        )
        assert created.status_code == 201, created.text
        revoked = await client.post(f"/connections/{connection_id}/revoke", json={"reason": "offboarded"})
        assert revoked.status_code == 200, revoked.text
    body = command(stack)
    body["targets"] = [
        {**t, "connection_id": connection_id} if t["platform"] == "meta" else t for t in body["targets"]
    ]
    meta_index = next(i for i, t in enumerate(body["targets"]) if t["platform"] == "meta")
    accepted = await submit(services["orchestrator"], body)
    result = await wait_status(services["orchestrator"], accepted["publish_id"], {"rejected"}, timeout=30)
    errors = [i for i in result["issues"] if i["severity"] == "error"]
    assert [(i["path"], i["platform"]) for i in errors] == [(f"targets[{meta_index}].connection_id", "meta")]
    assert f"{connection_id} (meta) is revoked: offboarded" in errors[0]["message"]
    assert "fanned_out" not in [e["kind"] for e in result["timeline"]]
    runs = "select count(*) from publisher_runs where publish_id = $1"
    assert await db.fetchval(runs, accepted["publish_id"]) == 0, "no publisher was asked"


async def test_a_platform_silent_past_its_deadline_fails_and_everything_is_rolled_back(
    stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    body = command(stack)
    publish_id = publish_id_for(body["idempotency_key"])
    snapchat = services["snapchat-publisher"]
    assert snapchat.proc is not None
    snapchat.proc.send_signal(signal.SIGSTOP)
    try:
        await submit(services["orchestrator"], body)
        await wait_status(services["orchestrator"], publish_id, {"rolling_back", "rolled_back"}, timeout=90)
    finally:
        snapchat.proc.send_signal(signal.SIGCONT)
    result = await wait_status(services["orchestrator"], publish_id, timeout=120)
    assert result["status"] == "rolled_back", result
    assert result["platforms"]["snapchat"]["timed_out"] is True
    assert any(e["kind"] == "deadline_passed" and e["platform"] == "snapchat" for e in result["timeline"])
    for platform in PLATFORMS:
        assert live(await tree_of(stack, platform, publish_id, body), TREE_KINDS[platform]) == [], platform
