"""Webhook registration, as each real API allows, kept up to date by every tracker replica.

Meta: the app's ad-account subscription (`POST /{app_id}/subscriptions`, app access token; Meta runs
the verification handshake against our callback before accepting), then each connected ad account's
`subscribed_apps`. TikTok: one `AD` subscription per connected advertiser (`/subscription/subscribe/`).
Snapchat: no ads webhooks — its reviews are polled. Registration is idempotent (existing subscriptions
are read first) and repeated every `register_interval_s`, sooner after a failure or when a publish of
a new account starts tracking. Without `ADRELAY_PUBLIC_BASE_URL` nothing is registered: the platforms
could not reach us, and polling alone brings review outcomes.
"""

from __future__ import annotations

import asyncio
import logging

from adrelay.connections import ConnectionManager, ConnectionStatus
from adrelay.model import Platform
from adrelay.platforms.http import Limiter
from adrelay.platforms.meta import webhooks as meta
from adrelay.platforms.meta.client import MetaClient
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.tiktok import webhooks as tiktok
from adrelay.platforms.tiktok.client import TikTokClient
from adrelay.tracker.settings import TrackerSettings

log = logging.getLogger(__name__)
RETRY_S = 2.0


class WebhookRegistration:
    def __init__(
        self,
        settings: TrackerSettings,
        platforms: PlatformSettings,
        limiter: Limiter,
        connections: ConnectionManager,
    ) -> None:
        self.settings = settings
        self.platforms = platforms
        self.connections = connections
        self.meta = MetaClient(platforms.meta, limiter, timeout_s=platforms.http_timeout_s)
        self.tiktok = TikTokClient(platforms.tiktok, timeout_s=platforms.http_timeout_s, limiter=limiter)
        self.wake = asyncio.Event()
        self.registered: set[tuple[str, str]] = set()  # (platform, account) done by this process

    async def run(self) -> None:
        if not self.settings.public_base_url:
            log.info(
                "ADRELAY_PUBLIC_BASE_URL is not set: no webhook is registered; review outcomes are polled"
            )
            return
        failures = 0
        while True:
            try:
                ok = await self.register_all()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("webhook registration failed: %r", exc)
                ok = False
            failures = 0 if ok else failures + 1
            wait = (
                self.settings.register_interval_s
                if ok
                else min(RETRY_S * 2**failures, self.settings.register_interval_s)
            )
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=wait)
            except TimeoutError:
                pass

    def account_seen(self, platform: str, account_id: str) -> None:
        """A publish of this account starts tracking: register it now if this process has not."""
        if (platform, account_id) not in self.registered:
            self.wake.set()

    async def register_all(self) -> bool:
        results = await asyncio.gather(self._meta(), self._tiktok(), return_exceptions=True)
        for platform, result in zip(("meta", "tiktok"), results, strict=True):
            if isinstance(result, BaseException):
                log.warning("%s webhook registration failed: %r", platform, result)
        return all(r is True for r in results)

    async def _meta(self) -> bool:
        m = self.platforms.meta
        callback = self.settings.callback_url("meta")
        if not (callback and m.app_id and m.app_secret and m.webhook_verify_token):
            log.info("Meta webhooks not registered: app id, app secret or verify token missing")
            return True
        if await meta.register_app(self.meta, m.app_id, m.app_secret, callback, m.webhook_verify_token):
            log.info("Meta app subscription points at %s", callback)
        complete = True
        for connection in await self.connections.list(Platform.META):
            if connection.status is not ConnectionStatus.ACTIVE:
                continue
            try:  # one connection's trouble (a retired key, a dead token) must not stop the others
                token = await self.connections.access_token(connection.id)
                for account in connection.ad_account_ids:
                    await meta.subscribe_account(self.meta, token, account, m.app_id)
                    self.registered.add(("meta", account))
            except Exception as exc:
                complete = False
                log.warning("Meta webhooks of connection %s not registered: %r", connection.id, exc)
        return complete

    async def _tiktok(self) -> bool:
        t = self.platforms.tiktok
        callback = self.settings.callback_url("tiktok")
        if not (callback and t.app_id and t.app_secret):
            return True
        complete = True
        for connection in await self.connections.list(Platform.TIKTOK):
            if connection.status is not ConnectionStatus.ACTIVE or not connection.ad_account_ids:
                continue
            try:  # one connection's trouble (a retired key, a dead token) must not stop the others
                token = await self.connections.access_token(connection.id)
                existing = await tiktok.subscribed_advertisers(
                    self.tiktok, token, t.app_id, t.app_secret, callback
                )
                for advertiser in connection.ad_account_ids:
                    if advertiser not in existing:
                        sub = await tiktok.subscribe(
                            self.tiktok, token, t.app_id, t.app_secret, callback, advertiser
                        )
                        log.info("TikTok AD subscription %s for advertiser %s", sub, advertiser)
                        existing.add(advertiser)
                    self.registered.add(("tiktok", advertiser))
            except Exception as exc:
                complete = False
                log.warning("TikTok webhooks of connection %s not registered: %r", connection.id, exc)
        return complete

    async def close(self) -> None:
        await self.meta.close()
        await self.tiktok.close()
