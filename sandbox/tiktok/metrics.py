"""Synthetic delivery metrics: a pure function of the ad's id and its delivery intervals.

Each delivering ad earns impressions at a fixed per-ad rate (0.5-2 per second x switch `metrics_rate`),
clicks, conversions and spend follow from per-ad ratios. Daily budgets cap spend: within one day (in
the advertiser's time zone) an ad group's or campaign's ads are scaled down together to its daily
budget. Nothing is random, so a closed day always reads the same, and totals grow only while the ad
delivers (enabled, approved, funded, inside its schedule).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sandbox.common.store import SandboxObject
from sandbox.tiktok.delivery import measure
from sandbox.tiktok.enums import DAILY_MODES
from sandbox.tiktok.objects import AD, ADGROUP, CAMPAIGN, ad_delivery, parents

if TYPE_CHECKING:
    from sandbox.tiktok.app import TikTokSandbox


@dataclass
class Counts:
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    reach: int = 0
    spend: Decimal = Decimal(0)

    def add(self, other: Counts) -> None:
        self.impressions += other.impressions
        self.clicks += other.clicks
        self.conversions += other.conversions
        self.reach += other.reach
        self.spend += other.spend

    def scaled(self, factor: Decimal, quantum: Decimal) -> Counts:
        if factor >= 1:
            return self
        f = float(factor)
        return Counts(
            impressions=math.floor(self.impressions * f),
            clicks=math.floor(self.clicks * f),
            conversions=math.floor(self.conversions * f),
            reach=math.floor(self.reach * f),
            spend=(self.spend * factor).quantize(quantum, rounding=ROUND_DOWN),
        )

    def is_zero(self) -> bool:
        return self.impressions == 0 and self.spend == 0


def _ratios(ad_id: str) -> tuple[float, float, float, float]:
    """(impressions per second, click-through rate, CPM in USD, conversion rate per click)."""
    h = hashlib.sha256(ad_id.encode()).digest()
    return (
        0.5 + h[0] / 255 * 1.5,
        0.005 + h[1] / 255 * 0.025,
        1.0 + h[2] / 255 * 4.0,
        0.02 + h[3] / 255 * 0.08,
    )


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[float, float]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return start.timestamp(), end.timestamp()


def local_day(ts: float, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ts, tz).date()


class MetricsEngine:
    """Computes counts for one request (caches per-day budget factors)."""

    def __init__(self, sb: TikTokSandbox, now: float) -> None:
        self.sb = sb
        self.now = now
        self._factors: dict[tuple[str, date], Decimal] = {}
        self._delivery: dict[str, list[tuple[float, float]]] = {}

    def _tz(self, advertiser_id: str) -> ZoneInfo:
        adv = self.sb.state.advertisers.get(advertiser_id)
        try:
            return ZoneInfo(adv.tz() if adv else "UTC")
        except Exception:  # unknown zone name in a seed
            return ZoneInfo("UTC")

    def _quantum(self, advertiser_id: str) -> tuple[Decimal, Decimal]:
        adv = self.sb.state.advertisers.get(advertiser_id)
        if adv is None:
            return Decimal("0.01"), Decimal(1)
        currency = self.sb.state.currency_of(adv)
        return currency.quantum(), currency.ratio

    def raw(self, ad: SandboxObject, lo: float, hi: float) -> Counts:
        """Uncapped counts of one ad in [lo, hi) (hi is clamped to now)."""
        hi = min(hi, self.now)
        if hi <= lo or not self.sb.config.metrics_growth:
            return Counts()
        if ad.id not in self._delivery:
            self._delivery[ad.id] = ad_delivery(self.sb, ad)
        seconds = measure(self._delivery[ad.id], lo, hi)
        if seconds <= 0:
            return Counts()
        rate, ctr, cpm_usd, cvr = _ratios(ad.id)
        impressions = math.floor(seconds * rate * float(self.sb.switch("metrics_rate")))
        clicks = math.floor(impressions * ctr)
        quantum, ratio = self._quantum(ad.account_id or "")
        spend = (Decimal(impressions) * Decimal(str(round(cpm_usd, 4))) * ratio / 1000).quantize(
            quantum, rounding=ROUND_DOWN
        )
        return Counts(impressions, clicks, math.floor(clicks * cvr), math.floor(impressions * 0.8), spend)

    def _owner_factor(self, owner: SandboxObject, day: date, tz: ZoneInfo) -> Decimal:
        """Scale factor so the owner's ads spend at most its daily budget on `day`."""
        key = (owner.id, day)
        if key in self._factors:
            return self._factors[key]
        factor = Decimal(1)
        budget = Decimal(str(owner.fields.get("budget") or 0))
        if owner.fields.get("budget_mode") in DAILY_MODES and budget > 0:
            lo, hi = local_day_bounds(day, tz)
            ads = self._ads_under(owner)
            total = sum((self.raw(a, lo, hi).spend for a in ads), Decimal(0))
            if total > budget:
                factor = budget / total
        self._factors[key] = factor
        return factor

    def _ads_under(self, owner: SandboxObject) -> list[SandboxObject]:
        if owner.kind == ADGROUP:
            return self.sb.store.children(owner.id, AD)
        out: list[SandboxObject] = []
        for adgroup in self.sb.store.children(owner.id, ADGROUP):
            out.extend(self.sb.store.children(adgroup.id, AD))
        return out

    def counts(self, ad: SandboxObject, lo: float, hi: float) -> Counts:
        """Counts of one ad in [lo, hi), capped by daily budgets day by day."""
        hi = min(hi, self.now)
        total = Counts()
        if hi <= lo:
            return total
        advertiser_id = ad.account_id or ""
        tz = self._tz(advertiser_id)
        quantum, _ = self._quantum(advertiser_id)
        campaign, adgroup = parents(self.sb, ad)
        owners = [o for o in (adgroup, campaign) if o is not None and not _cbo_adgroup(o, campaign)]
        day = local_day(max(lo, ad.created_at - 1), tz)
        for _ in range(400):
            day_lo, day_hi = local_day_bounds(day, tz)
            if day_lo >= hi:
                break
            piece = self.raw(ad, max(lo, day_lo), min(hi, day_hi))
            if not piece.is_zero():
                factor = min((self._owner_factor(o, day, tz) for o in owners), default=Decimal(1))
                total.add(piece.scaled(factor, quantum))
            day = day + timedelta(days=1)
        return total

    def object_counts(self, obj: SandboxObject, lo: float, hi: float) -> Counts:
        total = Counts()
        ads = [obj] if obj.kind == AD else self._ads_under(obj)
        for ad in ads:
            total.add(self.counts(ad, lo, hi))
        return total

    def advertiser_ads(self, advertiser_id: str) -> list[SandboxObject]:
        return [a for a in self.sb.store.all(AD) if a.account_id == advertiser_id]

    def tz(self, advertiser_id: str) -> ZoneInfo:
        return self._tz(advertiser_id)


def _cbo_adgroup(owner: SandboxObject, campaign: SandboxObject | None) -> bool:
    """Under campaign budget optimization ad group budgets do not apply."""
    return owner.kind == ADGROUP and campaign is not None and bool(campaign.fields.get("budget_optimize_on"))


def spend_for_budget(sb: TikTokSandbox, obj: SandboxObject, now: float) -> Decimal:
    """What counts against a budget change: today's spend for daily budgets, lifetime spend otherwise."""
    engine = MetricsEngine(sb, now)
    if obj.fields.get("budget_mode") in DAILY_MODES:
        lo, hi = local_day_bounds(
            local_day(now, engine.tz(obj.account_id or "")), engine.tz(obj.account_id or "")
        )
    else:
        lo, hi = 0.0, now
    if obj.kind not in (CAMPAIGN, ADGROUP):
        return Decimal(0)
    return engine.object_counts(obj, lo, hi).spend
