"""Turns observed ad reviews into AdReviewChanged events, once per change (see `reviews`).

Runs in the background of every tracker replica; rows are taken under their lock, so replicas never
emit the same change twice. A webhook that says less than the ad's read (Meta's disapproval without
reasons, a TikTok entry without an outcome) is completed by reading the ad first; an observation of an
ad no publish holds yet waits for its publisher to record it (for `unmatched_review_ttl_s`; when its
publish starts being tracked it is applied then).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg

from adrelay.model import Platform
from adrelay.platforms.base import TokenSource
from adrelay.storage.db import Database
from adrelay.tracker import reviews, tracking
from adrelay.tracker.publishes import publish_record
from adrelay.tracker.reads import PlatformReads
from adrelay.tracker.reviews import ReviewRow
from adrelay.tracker.settings import TrackerSettings

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[None]]
TokensFor = Callable[[str, str | None, str | None], TokenSource]  # connection, campaign, publish
DETAIL_ATTEMPTS = 5
BATCH = 50


async def apply_row(conn: asyncpg.Connection, row: ReviewRow, emit: Emit) -> bool:
    """Inside the caller's transaction, with the row locked: emit the change if there is one; True if
    an event was emitted."""
    change = reviews.change_of(row)
    if change is not None:
        await emit(conn, reviews.envelope_of(row, change))
        log.info(
            "ad %s on %s: review %s (%s)", row.external_ad_id, row.platform, change.review, change.source
        )
    await reviews.settle(conn, row, change is not None)
    return change is not None


class ReviewApplier:
    def __init__(
        self,
        db: Database,
        reads: PlatformReads,
        settings: TrackerSettings,
        *,
        emit: Emit,
        tokens_for: TokensFor,
    ) -> None:
        self.db = db
        self.reads = reads
        self.settings = settings
        self.emit = emit
        self.tokens_for = tokens_for
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            rows: list[ReviewRow] = []
            try:
                async with self.db.connection() as conn:
                    rows = await reviews.pending(conn, BATCH)
                for row in rows:
                    await self.apply(row)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database down, a platform failing: try again on the next round
                log.warning("applying review outcomes failed: %r", exc)
            if not rows:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=self.settings.poll_s)
                except TimeoutError:
                    pass

    async def apply(self, row: ReviewRow) -> None:
        async with self.db.transaction() as conn:
            locked = await reviews.lock(conn, row.platform, row.external_ad_id)
            if locked is None:
                return
            if locked.publish_id is None:
                matched = await reviews.match(conn, locked)
                if matched is None:
                    age = (datetime.now(UTC) - locked.created_at).total_seconds()
                    give_up = age > self.settings.unmatched_review_ttl_s
                    await reviews.later(
                        conn, locked, min(2.0 * 1.5 ** min(locked.attempts, 12), 300.0), give_up=give_up
                    )
                    return
                locked = matched
            if not (locked.needs_detail and locked.attempts < DETAIL_ATTEMPTS):
                await apply_row(conn, locked, self.emit)
                return
        await self._complete(locked)

    async def _complete(self, row: ReviewRow) -> None:
        """Read the ad for what the delivery left out, then apply."""
        assert row.publish_id is not None
        try:
            connection_id, account_id = await self._connection(row)
            tokens = self.tokens_for(connection_id, row.campaign_id, row.publish_id)
            outcomes = await self.reads.ad_reviews(
                Platform(row.platform), tokens, account_id, [row.external_ad_id], connection_id=connection_id
            )
        except Exception as exc:
            log.warning("reading ad %s on %s failed: %r", row.external_ad_id, row.platform, exc)
            async with self.db.transaction() as conn:
                await reviews.later(conn, row, min(2.0 * 2**row.attempts, 300.0))
            return
        found = next((o for o in outcomes if o.external_ad_id == row.external_ad_id and o.review), None)
        async with self.db.transaction() as conn:
            if found is not None:
                await reviews.observe(conn, row.platform, found, row.source or "webhook")
            else:
                await conn.execute(
                    "update ad_reviews set needs_detail = false where platform = $1 and external_ad_id = $2",
                    row.platform,
                    row.external_ad_id,
                )
            locked = await reviews.lock(conn, row.platform, row.external_ad_id)
            if locked is not None:
                await apply_row(conn, replace(locked, needs_detail=False), self.emit)

    async def _connection(self, row: ReviewRow) -> tuple[str, str]:
        assert row.publish_id is not None
        async with self.db.connection() as conn:
            tracked = await tracking.load(conn, row.publish_id, row.platform)
            if tracked is not None:
                return tracked.connection_id, tracked.account_id
            record = await publish_record(conn, row.publish_id)
        target = (
            next((t for t in record.command.targets if t.platform.value == row.platform), None)
            if record
            else None
        )
        if target is None:
            raise LookupError(f"publish {row.publish_id} has no {row.platform} target")
        return target.connection_id, target.account_id
