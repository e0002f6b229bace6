"""Helpers for the tracker's tests: campaigns with past delivery seeded into the session's sandboxes,
the tracker's parts built in-process on the test database, and tracking rows made directly.

Seeded campaigns have fresh ids per test and a closed delivery history (their ads are paused now), so
their days never change while a test reads them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from adrelay.connections import ConnectionManager, ConnectionTokens
from adrelay.engine.ratelimit import PostgresLimiter
from adrelay.events import Envelope, decode
from adrelay.messaging.outbox import Outbox
from adrelay.model import Platform
from adrelay.platforms.base import TokenSource
from adrelay.platforms.settings import PlatformSettings
from adrelay.storage.db import Database
from adrelay.tracker import reviews, tracking
from adrelay.tracker.applier import ReviewApplier
from adrelay.tracker.reads import PlatformReads
from adrelay.tracker.review_poll import ReviewPoll
from adrelay.tracker.schedule import PERFORMANCE, REVIEW, Job, Schedule
from adrelay.tracker.settings import ReportMode, TrackerSettings
from adrelay.tracker.sync import PerformanceSync
from adrelay.tracker.tracking import TrackedCampaign
from sandbox.meta import fixtures as meta_fx
from sandbox.snapchat import fixtures as snap_fx
from sandbox.tiktok import fixtures as tiktok_fx

FAR = datetime(2100, 1, 1, tzinfo=UTC)  # a due time no tracker reaches: tests run such jobs themselves
ACCOUNTS = {
    "meta": (meta_fx.AD_ACCOUNT_ID, meta_fx.AD_ACCOUNT_TIMEZONE),
    "tiktok": (tiktok_fx.ADVERTISER_ID, tiktok_fx.ADVERTISER_TIMEZONE),
    "snapchat": (snap_fx.DEMO_AD_ACCOUNT_ID, snap_fx.DEMO_TIMEZONE),
}


@dataclass
class Seeded:
    """A campaign tree on a platform: external ids per level, and when its ads delivered."""

    platform: str
    campaign: str
    ad_sets: list[str]
    ads: list[str]
    delivered_from: datetime
    delivered_to: datetime
    ad_ids: dict[str, str] = field(default_factory=dict)  # our ad id → external id

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(ACCOUNTS[self.platform][1])


def local_time(platform: str, days_ago: int, hour: int) -> datetime:
    zone = ZoneInfo(ACCOUNTS[platform][1])
    day = datetime.now(zone).date() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone)


def _digits(n: int) -> str:
    return str(random.randrange(10 ** (n - 1), 10**n))


async def seed(
    url: str, platform: str, start: datetime, end: datetime, *, ads: int = 2, review: str | None = None
) -> Seeded:
    """One campaign, one ad set and `ads` ads that delivered from `start` to `end` (paused since).
    `review` "disapproved" seeds every ad disapproved with a reason."""
    body, seeded = {
        "meta": _meta_seed,
        "tiktok": _tiktok_seed,
        "snapchat": _snapchat_seed,
    }[platform](start, end, ads, review)
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{url}/_sandbox/seed", json=body)
    assert response.status_code == 200, response.text
    return seeded


def _meta_seed(start: datetime, end: datetime, ads: int, review: str | None) -> tuple[dict[str, Any], Seeded]:
    campaign, ad_set = "77" + _digits(13), "77" + _digits(13)
    ad_ids = ["77" + _digits(13) for _ in range(ads)]
    created = start.timestamp() - 60
    fields: dict[str, Any] = {"_active": [[start.timestamp(), end.timestamp()]]}
    if review == "disapproved":
        fields |= {
            "_review": "disapproved",
            "ad_review_feedback": {"global": {"Misleading Claims": "Unrealistic result"}},
        }
    objects = [
        {"kind": "campaign", "id": campaign, "name": "tracked", "account_id": meta_fx.AD_ACCOUNT_ID,
         "status": "ACTIVE", "created_at": created, "fields": {"objective": "OUTCOME_TRAFFIC"}},
        {"kind": "adset", "id": ad_set, "name": "tracked set", "account_id": meta_fx.AD_ACCOUNT_ID,
         "parent_id": campaign, "status": "ACTIVE", "created_at": created, "fields": {}},
    ] + [
        {"kind": "ad", "id": ad, "name": f"tracked ad {i}", "account_id": meta_fx.AD_ACCOUNT_ID,
         "parent_id": ad_set, "status": "PAUSED", "created_at": created, "fields": dict(fields)}
        for i, ad in enumerate(ad_ids)
    ]  # fmt: skip
    return {"objects": objects}, _seeded("meta", campaign, [ad_set], ad_ids, start, end)


def _tiktok_seed(
    start: datetime, end: datetime, ads: int, review: str | None
) -> tuple[dict[str, Any], Seeded]:
    campaign, ad_group = "17" + _digits(17), "17" + _digits(17)
    ad_ids = ["17" + _digits(17) for _ in range(ads)]
    utc = "%Y-%m-%d %H:%M:%S"
    objects = [
        {"kind": "campaign", "id": campaign, "name": "tracked", "account_id": tiktok_fx.ADVERTISER_ID,
         "created_at": start.timestamp(),
         "fields": {"objective_type": "TRAFFIC", "budget_mode": "BUDGET_MODE_INFINITE", "budget": 0.0}},
        {"kind": "adgroup", "id": ad_group, "name": "tracked group", "parent_id": campaign,
         "account_id": tiktok_fx.ADVERTISER_ID, "created_at": start.timestamp(),
         "fields": {"budget_mode": "BUDGET_MODE_DAY", "budget": 1_000_000.0, "schedule_type": "SCHEDULE_START_END",
                    "schedule_start_time": start.astimezone(UTC).strftime(utc),
                    "schedule_end_time": end.astimezone(UTC).strftime(utc),
                    "promotion_type": "WEBSITE", "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
                    "optimization_goal": "CLICK", "billing_event": "CPC", "pacing": "PACING_MODE_SMOOTH",
                    "location_ids": [tiktok_fx.US_LOCATION_ID]}},
    ] + [
        {"kind": "ad", "id": ad, "name": f"tracked ad {i}", "parent_id": ad_group,
         "account_id": tiktok_fx.ADVERTISER_ID, "created_at": start.timestamp(),
         "fields": {"ad_text": "hello", "review_status": "REJECTED" if review == "disapproved" else "APPROVED"}}
        for i, ad in enumerate(ad_ids)
    ]  # fmt: skip
    return {"objects": objects}, _seeded("tiktok", campaign, [ad_group], ad_ids, start, end)


def _snapchat_seed(
    start: datetime, end: datetime, ads: int, review: str | None
) -> tuple[dict[str, Any], Seeded]:
    campaign, squad = str(uuid.uuid4()), str(uuid.uuid4())
    ad_ids = [str(uuid.uuid4()) for _ in range(ads)]
    base = "2020-01-01T00:00:00.000Z"
    ad_fields: dict[str, Any] = {}
    if review == "disapproved":
        ad_fields = {"review_status": "REJECTED", "_review_reasons": ["Image quality is too low"]}
    objects = [
        {"kind": "campaign", "id": campaign,
         "fields": {"name": "tracked", "ad_account_id": snap_fx.DEMO_AD_ACCOUNT_ID, "status": "ACTIVE", "start_time": base}},
        {"kind": "adsquad", "id": squad,
         "fields": {"name": "tracked squad", "campaign_id": campaign, "status": "ACTIVE", "type": "SNAP_ADS", "start_time": base}},
    ] + [
        {"kind": "ad", "id": ad,
         "fields": {"name": f"tracked ad {i}", "ad_squad_id": squad, "status": "PAUSED", "type": "SNAP_AD",
                    "creative_id": ad, **ad_fields},
         "delivery": [[start.isoformat(), end.isoformat()]]}
        for i, ad in enumerate(ad_ids)
    ]  # fmt: skip
    return {"objects": objects}, _seeded("snapchat", campaign, [squad], ad_ids, start, end)


def _seeded(
    platform: str, campaign: str, ad_sets: list[str], ads: list[str], start: datetime, end: datetime
) -> Seeded:
    return Seeded(platform, campaign, ad_sets, ads, start, end, {f"ad-{i + 1}": a for i, a in enumerate(ads)})


# ---- the tracker's parts, in-process ---------------------------------------------------------------
class Parts:
    """What the tracker service wires, on the test database and the session's connections."""

    def __init__(self, database_url: str, *, report_mode: ReportMode = "auto", lease_s: float = 30.0) -> None:
        self.db = Database(database_url)
        self.platforms = PlatformSettings()
        self.settings = TrackerSettings()
        self.limiter = PostgresLimiter(self.db)
        self.manager = ConnectionManager(self.db, self.platforms, limiter=self.limiter)
        self.schedule = Schedule(self.db, f"test/{uuid.uuid4().hex[:8]}", lease_s)
        self.reads = PlatformReads(self.platforms, self.limiter, report_mode=report_mode)
        self.reads.meta_reporting.run_poll_s = 0.2
        self.outbox = Outbox("tracker")
        self.sync = PerformanceSync(
            self.db,
            self.schedule,
            self.reads,
            self.settings,
            emit=self.outbox.add,
            tokens_for=self.tokens,
        )
        self.poll = ReviewPoll(
            self.db, self.schedule, self.reads, emit=self.outbox.add, tokens_for=self.tokens
        )
        self.applier = ReviewApplier(
            self.db,
            self.reads,
            self.settings,
            emit=self.outbox.add,
            tokens_for=lambda c, cmp, pub: ConnectionTokens(self.manager, c, campaign_id=cmp, publish_id=pub),
        )

    def tokens(self, campaign: TrackedCampaign) -> TokenSource:
        return ConnectionTokens(self.manager, campaign.connection_id, campaign_id=campaign.campaign_id)

    async def claim(self, publish_id: str, platform: str, job: str = PERFORMANCE) -> Job:
        jobs = await self.schedule.claim(1, keys=[(publish_id, platform, job)])
        assert len(jobs) == 1, f"job {publish_id}/{platform}/{job} could not be claimed"
        return jobs[0]

    async def run_sync(self, publish_id: str, platform: str) -> None:
        await self.sync.run(await self.claim(publish_id, platform))

    async def close(self) -> None:
        await self.reads.close()
        await self.manager.close()
        await self.db.close()


async def track(
    db: asyncpg.Pool,
    seeded: Seeded,
    connection_id: str,
    *,
    since: datetime | None = None,
    track_until: datetime | None = None,
    first_at: datetime = FAR,
    interval_s: float = 3600.0,
    review_at: datetime = FAR,
    review_interval_s: float = 3600.0,
) -> str:
    """Tracking rows for a seeded campaign, as the status handler makes them; the publish id."""
    publish_id = f"pub-{uuid.uuid4().hex[:12]}"
    campaign_id = f"cmp-{uuid.uuid4().hex[:12]}"
    account_id = ACCOUNTS[seeded.platform][0]
    async with db.acquire() as conn, conn.transaction():
        await tracking.start(
            conn,
            publish_id=publish_id,
            platform=seeded.platform,
            campaign_id=campaign_id,
            connection_id=connection_id,
            account_id=account_id,
            external_campaign_id=seeded.campaign,
            since=since or seeded.delivered_from - timedelta(hours=1),
            track_until=track_until,
        )
        for job, at, interval in (
            (PERFORMANCE, first_at, interval_s),
            (REVIEW, review_at, review_interval_s),
        ):
            await conn.execute(
                "insert into tracking_schedule (publish_id, platform, job, next_run_at, interval_s) values ($1, $2, $3, $4, $5)",
                publish_id,
                seeded.platform,
                job,
                at,
                interval,
            )
        await reviews.register_ads(conn, seeded.platform, publish_id, campaign_id, account_id, seeded.ad_ids)
    return publish_id


async def rows(db: asyncpg.Pool, publish_id: str, level: str | None = None) -> list[asyncpg.Record]:
    return await db.fetch(
        """
        select * from performance_metrics where publish_id = $1 and ($2::text is null or level = $2)
        order by level, external_id, day
        """,
        publish_id,
        level,
    )


async def events(db: asyncpg.Pool, event_type: str, publish_id: str) -> list[Envelope]:
    found = await db.fetch(
        "select value from outbox where producer = 'tracker' and event_type = $1 order by id", event_type
    )
    out = [decode(r["value"]) for r in found]
    return [e for e in out if e.publish_id == publish_id]


def by_day(records: list[asyncpg.Record]) -> dict[date, int]:
    out: dict[date, int] = {}
    for r in records:
        out[r["day"]] = out.get(r["day"], 0) + r["impressions"]
    return out


def delivery_seconds(seeded: Seeded) -> dict[date, float]:
    """Seconds of delivery per local day of the account."""
    out: dict[date, float] = {}
    cursor = seeded.delivered_from.astimezone(seeded.zone)
    end = seeded.delivered_to.astimezone(seeded.zone)
    while cursor < end:
        day = cursor.date()
        midnight = datetime(day.year, day.month, day.day, tzinfo=seeded.zone) + timedelta(days=1)
        stop = min(midnight, end)
        # Real seconds: subtracting two datetimes of one zone ignores a daylight-saving change.
        out[day] = out.get(day, 0.0) + (stop.timestamp() - cursor.timestamp())
        cursor = stop
    return out


def platform_of(name: str) -> Platform:
    return Platform(name)
