"""The webhook endpoints in-process over real HTTP, on the test database: Meta's handshake, signatures
(a bad one gets 401/403 and changes nothing), replayed deliveries applied once, deliveries completed by
reading the ad, deliveries that arrive before the ad is known; and registration against sandboxes that
run Meta's verification handshake against the receiver."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from aiohttp import web

from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.platforms.errors import PlatformCallError
from adrelay.platforms.meta import webhooks as meta_webhooks
from adrelay.platforms.meta.client import MetaClient
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.tiktok import webhooks as tiktok_webhooks
from adrelay.platforms.tiktok.client import TikTokClient
from adrelay.tracker import reviews
from adrelay.tracker.webhooks import WebhookReceiver
from sandbox.common.cli import build
from sandbox.meta import fixtures as meta_fx
from sandbox.meta import webhooks as meta_sandbox
from sandbox.tiktok import fixtures as tiktok_fx
from sandbox.tiktok import webhooks as tiktok_sandbox
from tests.conftest import RuntimeEnv, Stack
from tests.integration.tracker.support import Parts, Seeded, events, local_time, seed, track

VERIFY_TOKEN = "verify-" + uuid.uuid4().hex


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


class Receiver:
    def __init__(self, parts: Parts, url: str) -> None:
        self.parts = parts
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=10)

    async def post(self, platform: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.http.post(f"/webhooks/{platform}/", content=body, headers=headers)

    async def apply(self) -> None:
        """One round of the review applier."""
        async with self.parts.db.connection() as conn:
            rows = await reviews.pending(conn, 100)
        for row in rows:
            await self.parts.applier.apply(row)


@pytest.fixture
async def receiver(runtime_env: RuntimeEnv, stack: Stack) -> AsyncIterator[Receiver]:
    parts = Parts(runtime_env.database_url)
    platforms = PlatformSettings()
    platforms = replace(platforms, meta=replace(platforms.meta, webhook_verify_token=VERIFY_TOKEN))
    app = web.Application()
    app.add_routes(WebhookReceiver(parts.db, platforms, parts.settings).routes())
    runner, url = await serve(app)
    made = Receiver(parts, url)
    yield made
    await made.http.aclose()
    await runner.cleanup()
    await parts.close()


def meta_delivery(
    account: str, field: str, value: dict[str, Any], secret: str = meta_fx.APP_SECRET
) -> tuple[bytes, dict[str, str]]:
    body = meta_sandbox.delivery_body(account, field, value)
    return body, meta_sandbox.sign(secret, body)


def fake(platform: str, ads: int = 1) -> Seeded:
    """A campaign tree known to the tracker only (webhook tests need no platform object)."""
    from datetime import UTC, datetime

    ids = [f"9{uuid.uuid4().int % 10**14:014d}" for _ in range(ads)]
    now = datetime.now(UTC)
    return Seeded(
        platform,
        f"9{uuid.uuid4().int % 10**14:014d}",
        [],
        ids,
        now,
        now,
        {f"ad-{i + 1}": a for i, a in enumerate(ids)},
    )


async def test_meta_handshake_answers_the_challenge_only_for_our_verify_token(receiver: Receiver) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "8374652", "hub.verify_token": VERIFY_TOKEN}
    ok = await receiver.http.get("/webhooks/meta/", params=query)
    assert (ok.status_code, ok.text) == (200, "8374652")
    wrong = await receiver.http.get("/webhooks/meta/", params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert (await receiver.http.get("/webhooks/meta/")).status_code == 403
    assert (await receiver.http.post("/webhooks/snapchat/", content=b"{}")).status_code == 404


async def test_a_bad_signature_is_refused_and_changes_nothing(receiver: Receiver, db: Any) -> None:
    ad = fake("meta").ads[0]
    value = {"id": ad, "level": "AD", "error_summary": "Ad disapproved", "error_message": "Forged"}
    body, headers = meta_delivery(
        meta_fx.AD_ACCOUNT_NUMBER, "with_issues_ad_objects", value, secret="not-the-app-secret"
    )
    assert (await receiver.post("meta", body, headers)).status_code == 403
    assert (await receiver.post("meta", body, {"Content-Type": "application/json"})).status_code == 401
    tiktok_body = json.dumps(
        {"request_id": "forged", "object": 3, "entry": [{"ad_id": ad, "review_status": "REJECTED"}]}
    ).encode()
    forged = {"TikTok-Signature": tiktok_sandbox.sign("not-the-app-secret", tiktok_body, int(time.time()))}
    assert (await receiver.post("tiktok", tiktok_body, forged)).status_code == 403
    stale = {
        "TikTok-Signature": tiktok_sandbox.sign(tiktok_fx.APP_SECRET, tiktok_body, int(time.time()) - 3600)
    }
    assert (await receiver.post("tiktok", tiktok_body, stale)).status_code == 403  # a replay an hour later
    hashes = [hashlib.sha256(b).hexdigest() for b in (body, tiktok_body)]
    assert (
        await db.fetchval(
            "select count(*) from webhook_deliveries where body_sha256 = any($1::text[])", hashes
        )
        == 0
    )
    assert await db.fetchval("select count(*) from ad_reviews where external_ad_id = $1", ad) == 0


async def test_a_replayed_delivery_is_applied_once(receiver: Receiver, db: Any, stack: Stack) -> None:
    tree = fake("meta")
    publish_id = await track(db, tree, stack.connection_ids["meta"])
    value = {
        "id": tree.ads[0],
        "level": "AD",
        "error_summary": "Ad disapproved",
        "error_message": "Misleading claims",
    }
    body, headers = meta_delivery(meta_fx.AD_ACCOUNT_NUMBER, "with_issues_ad_objects", value)
    answers = [(await receiver.post("meta", body, headers)).json() for _ in range(3)]
    assert [a["duplicate"] for a in answers] == [False, True, True]
    await receiver.apply()
    await receiver.post("meta", body, headers)  # late duplicate after the outcome was applied
    later_body, later_headers = meta_delivery(
        meta_fx.AD_ACCOUNT_NUMBER, "with_issues_ad_objects", {**value, "x": 1}
    )
    assert (await receiver.post("meta", later_body, later_headers)).json()[
        "duplicate"
    ] is False  # same news, new delivery
    await receiver.apply()
    changes = [e.payload for e in await events(db, "AdReviewChanged", publish_id)]
    assert len(changes) == 1
    change = changes[0]
    assert (change.review, change.source, change.ad_id) == ("disapproved", "webhook", "ad-1")  # type: ignore[union-attr]
    assert change.violations[0].message == "Misleading claims"  # type: ignore[union-attr]
    assert (
        await db.fetchval(
            "select count(*) from webhook_deliveries where body_sha256 = $1", hashlib.sha256(body).hexdigest()
        )
        == 1
    )

    tiktok_tree = fake("tiktok")
    tiktok_publish = await track(db, tiktok_tree, stack.connection_ids["tiktok"])
    payload = {
        "request_id": uuid.uuid4().hex,
        "object": 3,
        "time": int(time.time()),
        "entry": [
            {
                "ad_id": tiktok_tree.ads[0],
                "advertiser_id": tiktok_fx.ADVERTISER_ID,
                "review_status": "APPROVED",
                "reject_reasons": [],
            }
        ],
    }
    tiktok_body = json.dumps(payload).encode()
    signed = {"TikTok-Signature": tiktok_sandbox.sign(tiktok_fx.APP_SECRET, tiktok_body, int(time.time()))}
    assert [(await receiver.post("tiktok", tiktok_body, signed)).json()["duplicate"] for _ in range(2)] == [
        False,
        True,
    ]
    await receiver.apply()
    approved = [e.payload for e in await events(db, "AdReviewChanged", tiktok_publish)]
    assert [(c.review, c.source) for c in approved] == [("approved", "webhook")]  # type: ignore[union-attr]


async def test_a_disapproval_without_reasons_is_completed_by_reading_the_ad(
    receiver: Receiver, db: Any, stack: Stack
) -> None:
    tree = await seed(
        stack.sandbox("meta"),
        "meta",
        local_time("meta", 2, 10),
        local_time("meta", 2, 11),
        ads=1,
        review="disapproved",
    )
    body, headers = meta_delivery(
        meta_fx.AD_ACCOUNT_NUMBER,
        "in_process_ad_objects",
        {"id": tree.ads[0], "level": "AD", "status_name": "DISAPPROVED"},
    )
    # The delivery comes before the tracker knows the ad: it waits, and is applied once the ad is known.
    assert (await receiver.post("meta", body, headers)).status_code == 200
    await receiver.apply()
    row = await db.fetchrow("select * from ad_reviews where external_ad_id = $1", tree.ads[0])
    assert (row["publish_id"], row["dirty"], row["review"]) == (None, True, "disapproved")
    publish_id = await track(db, tree, stack.connection_ids["meta"])
    await receiver.apply()
    changes = [e.payload for e in await events(db, "AdReviewChanged", publish_id)]
    assert len(changes) == 1 and changes[0].source == "webhook"  # type: ignore[union-attr]
    assert [v.message for v in changes[0].violations] == ["Misleading Claims: Unrealistic result"]  # type: ignore[union-attr]


async def test_registration_passes_each_platforms_checks(receiver: Receiver, runtime_env: RuntimeEnv) -> None:
    """Against sandboxes of its own (the session's keep their subscriptions): Meta calls the receiver
    back for the handshake before it accepts; TikTok subscribes the advertiser once."""
    meta_sb, tiktok_sb = build("meta"), build("tiktok")
    meta_runner, meta_url = await serve(meta_sb.app)
    tiktok_runner, tiktok_url = await serve(tiktok_sb.app)
    limiter = PostgresLimiter(receiver.parts.db)
    settings = PlatformSettings()
    meta = MetaClient(replace(settings.meta, graph_url=meta_url), limiter)
    tiktok = TikTokClient(replace(settings.tiktok, api_url=tiktok_url), timeout_s=10, limiter=limiter)
    try:
        async with httpx.AsyncClient() as client:
            (await client.post(f"{meta_url}/_sandbox/seed", json=meta_fx.demo_seed())).raise_for_status()
            (await client.post(f"{tiktok_url}/_sandbox/seed", json=tiktok_fx.demo_seed())).raise_for_status()
        callback = f"{receiver.url}/webhooks/meta/"
        with pytest.raises(PlatformCallError, match="2200"):  # our receiver refuses a foreign verify token
            await meta_webhooks.register_app(meta, meta_fx.APP_ID, meta_fx.APP_SECRET, callback, "not-ours")
        assert await meta_webhooks.register_app(
            meta, meta_fx.APP_ID, meta_fx.APP_SECRET, callback, VERIFY_TOKEN
        )
        assert not await meta_webhooks.register_app(
            meta, meta_fx.APP_ID, meta_fx.APP_SECRET, callback, VERIFY_TOKEN
        )
        await meta_webhooks.subscribe_account(
            meta, meta_fx.SYSTEM_USER_TOKEN, meta_fx.AD_ACCOUNT_ID, meta_fx.APP_ID
        )
        assert meta_sb.webhooks.targets(meta_fx.AD_ACCOUNT_NUMBER, "in_process_ad_objects", True) == [  # type: ignore[attr-defined]
            (meta_fx.APP_ID, callback)
        ]
        tiktok_callback = f"{receiver.url}/webhooks/tiktok/"
        args = (tiktok, tiktok_fx.ACCESS_TOKEN, tiktok_fx.APP_ID, tiktok_fx.APP_SECRET, tiktok_callback)
        assert await tiktok_webhooks.subscribed_advertisers(*args) == set()
        assert await tiktok_webhooks.subscribe(*args, tiktok_fx.ADVERTISER_ID)
        assert await tiktok_webhooks.subscribed_advertisers(*args) == {tiktok_fx.ADVERTISER_ID}
    finally:
        await meta.close()
        await tiktok.close()
        await meta_runner.cleanup()
        await tiktok_runner.cleanup()
