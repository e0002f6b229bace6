"""The tracker's reads of each platform, through the same client layer as the publishers (shared
PostgreSQL rate limiter, one error taxonomy): daily metrics (each platform's `reporting` module), ad
review outcomes and campaign existence (each platform's `review` module). One place knows which
platform module takes what; a token refused as unauthenticated is refreshed once where the platform
allows (Snapchat) and the read retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import TypeVar

from adrelay.events.payloads import ErrorCategory
from adrelay.model import Platform
from adrelay.platforms.base import TokenSource
from adrelay.platforms.common import DailyMetrics
from adrelay.platforms.errors import PlatformCallError
from adrelay.platforms.http import Limiter
from adrelay.platforms.meta import create_reporting as meta_reporting
from adrelay.platforms.meta.review import create_review as meta_review
from adrelay.platforms.settings import PlatformSettings
from adrelay.platforms.snapchat import create_reporting as snapchat_reporting
from adrelay.platforms.snapchat.review import create_review as snapchat_review
from adrelay.platforms.tiktok.client import TikTokClient
from adrelay.platforms.tiktok.reporting import MAX_DAYS_PER_REQUEST, TikTokReporting
from adrelay.platforms.tiktok.review import create_review as tiktok_review
from adrelay.tracker.outcomes import ReviewOutcome
from adrelay.tracker.settings import ReportMode

T = TypeVar("T")


async def with_token(tokens: TokenSource, call: Callable[[str], Awaitable[T]]) -> T:
    """`call(token)`; an auth refusal gets one fresh token (where the platform allows) and one retry."""
    token = await tokens.access_token()
    try:
        return await call(token)
    except PlatformCallError as exc:
        if exc.category is not ErrorCategory.AUTH:
            raise
        fresh = await tokens.after_auth_error(token)
        if fresh is None:
            raise
        return await call(fresh)


class PlatformReads:
    def __init__(
        self, settings: PlatformSettings, limiter: Limiter, *, report_mode: ReportMode = "auto"
    ) -> None:
        self.report_mode = report_mode
        self.meta_reporting = meta_reporting(settings, limiter)
        self.tiktok_reporting = TikTokReporting(
            TikTokClient(settings.tiktok, timeout_s=settings.http_timeout_s, limiter=limiter)
        )
        self.snapchat_reporting = snapchat_reporting(settings, limiter)
        self.meta_review = meta_review(settings, limiter)
        self.tiktok_review = tiktok_review(settings, limiter)
        self.snapchat_review = snapchat_review(settings, limiter)

    async def daily_metrics(
        self,
        platform: Platform,
        tokens: TokenSource,
        account_id: str,
        campaign_id: str,
        start: date,
        end: date,
        *,
        time_zone: str,
        connection_id: str,
    ) -> list[DailyMetrics]:
        """Every day in [start, end] (the account's days) with delivery, per level."""
        days = (end - start).days + 1
        if platform is Platform.META:
            run = None if self.report_mode == "auto" else self.report_mode == "async"
            return await with_token(
                tokens,
                lambda t: self.meta_reporting.daily_metrics(
                    t, account_id, campaign_id, start, end, use_report_run=run
                ),
            )
        if platform is Platform.TIKTOK:
            task = self.report_mode == "async" or (self.report_mode == "auto" and days > MAX_DAYS_PER_REQUEST)
            rows = await with_token(
                tokens,
                lambda t: self.tiktok_reporting.daily_metrics(
                    t, account_id, campaign_id, start, end, use_task=task
                ),
            )
            return [
                DailyMetrics(
                    r.date,
                    r.level,
                    r.external_id,
                    r.impressions,
                    r.clicks,
                    r.spend_micros,
                    r.conversions,
                    r.raw,
                )
                for r in rows
            ]
        return await with_token(
            tokens,
            lambda t: self.snapchat_reporting.daily_metrics(
                t, account_id, campaign_id, start, end, timezone=time_zone, connection_id=connection_id
            ),
        )

    async def ad_reviews(
        self,
        platform: Platform,
        tokens: TokenSource,
        account_id: str,
        ad_ids: Sequence[str],
        *,
        connection_id: str,
    ) -> list[ReviewOutcome]:
        if not ad_ids:
            return []
        if platform is Platform.META:
            return await with_token(tokens, lambda t: self.meta_review.ad_reviews(t, account_id, ad_ids))
        if platform is Platform.TIKTOK:
            return await with_token(tokens, lambda t: self.tiktok_review.ad_reviews(t, account_id, ad_ids))
        return await with_token(
            tokens,
            lambda t: self.snapchat_review.ad_reviews(t, account_id, ad_ids, connection_id=connection_id),
        )

    async def campaign_deleted(
        self,
        platform: Platform,
        tokens: TokenSource,
        account_id: str,
        campaign_id: str,
        *,
        connection_id: str,
    ) -> bool:
        if platform is Platform.META:
            return await with_token(
                tokens, lambda t: self.meta_review.campaign_deleted(t, account_id, campaign_id)
            )
        if platform is Platform.TIKTOK:
            return await with_token(
                tokens, lambda t: self.tiktok_review.campaign_deleted(t, account_id, campaign_id)
            )
        return await with_token(
            tokens,
            lambda t: self.snapchat_review.campaign_deleted(
                t, account_id, campaign_id, connection_id=connection_id
            ),
        )

    async def close(self) -> None:
        await self.meta_reporting.close()
        await self.tiktok_reporting.client.close()
        await self.snapchat_reporting.close()
        await self.meta_review.close()
        await self.tiktok_review.close()
        await self.snapchat_review.close()
