"""The platforms' webhooks at `/webhooks/{platform}/` on the tracker's web server.

Meta: the GET verification handshake, and signed POST deliveries. TikTok: signed POST deliveries.
Snapchat has no ads webhooks: 404. The signature is checked over the raw body before anything else; a
missing one is 401, a wrong one 403, and neither changes anything. A valid delivery is recorded once
(`webhook_deliveries`, keyed by the platform's delivery id or the body's hash: platforms deliver at
least once) together with the review outcomes it tells, in one transaction; answering fast, the
outcomes are applied by the review applier.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import Counter

from adrelay.observability.logging import register_secret
from adrelay.platforms.meta import webhooks as meta
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.tiktok import webhooks as tiktok
from adrelay.storage.db import Database
from adrelay.tracker import reviews
from adrelay.tracker.outcomes import ReviewOutcome
from adrelay.tracker.settings import TrackerSettings

log = logging.getLogger(__name__)

WEBHOOK_DELIVERIES = Counter(
    "adrelay_webhook_deliveries_total", "Platform webhook deliveries by outcome", ["platform", "outcome"]
)


class WebhookReceiver:
    def __init__(
        self,
        db: Database,
        platforms: PlatformSettings,
        settings: TrackerSettings,
        *,
        on_outcomes: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.platforms = platforms
        self.settings = settings
        self.on_outcomes = on_outcomes
        for secret in (
            platforms.meta.app_secret,
            platforms.meta.webhook_verify_token,
            platforms.tiktok.app_secret,
        ):
            register_secret(secret)

    def routes(self) -> list[web.RouteDef]:
        out = []
        for path in ("/webhooks/{platform}/", "/webhooks/{platform}"):
            out += [web.get(path, self.verify), web.post(path, self.deliver)]
        return out

    # ---- handlers ------------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.StreamResponse:
        """Meta's subscription handshake: the raw challenge for our verify token, else 403."""
        platform = request.match_info["platform"]
        if platform != "meta":
            return _not_found(platform)
        answer = meta.challenge(request.query, self.platforms.meta.webhook_verify_token)
        if answer is None:
            WEBHOOK_DELIVERIES.labels("meta", "handshake_refused").inc()
            return web.Response(status=403, text="verification refused")
        WEBHOOK_DELIVERIES.labels("meta", "handshake").inc()
        return web.Response(status=200, text=answer, content_type="text/plain")

    async def deliver(self, request: web.Request) -> web.StreamResponse:
        platform = request.match_info["platform"]
        if platform not in ("meta", "tiktok"):
            return _not_found(platform)
        body = await request.read()
        header = request.headers.get(meta.SIGNATURE_HEADER if platform == "meta" else tiktok.SIGNATURE_HEADER)
        if not header:
            WEBHOOK_DELIVERIES.labels(platform, "unsigned").inc()
            return web.json_response({"error": "signature missing"}, status=401)
        if not self._signed(platform, body, header):
            WEBHOOK_DELIVERIES.labels(platform, "bad_signature").inc()
            log.warning("%s webhook with a bad signature refused (%d bytes)", platform, len(body))
            return web.json_response({"error": "signature invalid"}, status=403)
        try:
            payload, outcomes, delivery = self._parse(platform, body)
        except ValueError as exc:
            WEBHOOK_DELIVERIES.labels(platform, "malformed").inc()
            return web.json_response({"error": f"not a delivery: {exc}"}, status=400)
        fresh = await self.record(platform, delivery, body, payload, outcomes)
        WEBHOOK_DELIVERIES.labels(platform, "accepted" if fresh else "duplicate").inc()
        if fresh and outcomes:
            self.on_outcomes()
        return web.json_response({"received": len(outcomes), "duplicate": not fresh})

    # ---- parts ---------------------------------------------------------------------------------
    def _signed(self, platform: str, body: bytes, header: str) -> bool:
        if platform == "meta":
            return meta.signature_valid(self.platforms.meta.app_secret, body, header)
        return tiktok.signature_valid(
            self.platforms.tiktok.app_secret,
            body,
            header,
            tolerance_s=self.settings.tiktok_signature_tolerance_s,
        )

    def _parse(self, platform: str, body: bytes) -> tuple[Any, list[ReviewOutcome], str]:
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if platform == "meta":
            outcomes = meta.parse(body)
            return orjson.loads(body), outcomes, digest
        payload, outcomes = tiktok.parse(body)
        return payload, outcomes, tiktok.delivery_id(payload) or digest

    async def record(
        self, platform: str, delivery: str, body: bytes, payload: Any, outcomes: Sequence[ReviewOutcome]
    ) -> bool:
        """The delivery and its outcomes, once; False for a delivery already recorded."""
        async with self.db.transaction() as conn:
            fresh = await conn.fetchval(
                """
                insert into webhook_deliveries (platform, delivery_id, body_sha256, payload, outcomes)
                values ($1, $2, $3, $4::jsonb, $5)
                on conflict (platform, delivery_id) do nothing
                returning true
                """,
                platform,
                delivery,
                hashlib.sha256(body).hexdigest(),
                orjson.dumps(payload).decode(),
                len(outcomes),
            )
            if not fresh:
                return False
            for outcome in outcomes:
                await reviews.observe(conn, platform, outcome, "webhook")
        return True

    async def prune(self) -> None:
        """Forever, hourly: forget deliveries older than the retention (platforms stop retrying after
        hours, Meta 36 h and TikTok 72 h [S]); what they applied stays in `ad_reviews`."""
        while True:
            try:
                async with self.db.connection() as conn:
                    await conn.execute(
                        "delete from webhook_deliveries where received_at < now() - make_interval(days => $1)",
                        self.settings.webhook_retention_days,
                    )
            except Exception as exc:
                log.warning("pruning webhook deliveries failed: %r", exc)
            await asyncio.sleep(3600)


def _not_found(platform: str) -> web.Response:
    note = (
        "Snapchat has no ads webhooks; reviews are polled" if platform == "snapchat" else "unknown platform"
    )
    return web.json_response({"error": note}, status=404)
