"""Stats: `GET /v1/{campaigns|adsquads|ads|adaccounts}/{id}/stats`.

Shapes as recorded: TOTAL → `total_stats[].total_stat{id,type,granularity,stats,start_time,end_time,
finalized_data_end_time}`; DAY/HOUR → `timeseries_stats[].timeseries_stat{…,timeseries[{start_time,
end_time,stats}],attributing_party}`; LIFETIME → `lifetime_stats[].lifetime_stat` (UNCONFIRMED).
Default fields are impressions and spend (recorded); `spend` is integer micro-currency.
`breakdown=ad|adsquad|campaign` adds `breakdown_stats` (shape UNCONFIRMED).

Times must be zone-qualified and on the hour (switch `stats_require_hour_alignment`); DAY needs
local midnights in the ad account's time zone (switch `stats_day_alignment`); at most 32 days of DAY
and 7 of HOUR (switch `stats_max_days`). Echoed times keep the caller's offset; buckets are written in
the account's time zone, as recorded (`2025-07-01T00:00:00.000+02:00` for Europe/Paris).

Metrics come from each ad's delivery intervals (lifecycle.py): a delivering ad earns impressions at a
steady per-ad rate (switch `metrics_impressions_per_s`), and every metric is a floor of a cumulative
function of delivered seconds — so any window is the exact sum of its days, and re-reading a closed
window gives the same numbers.
"""

from __future__ import annotations

import math
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.common.store import SandboxObject
from sandbox.snapchat.context import Ctx
from sandbox.snapchat.entities import Result
from sandbox.snapchat.errors import bad_request
from sandbox.snapchat.objects import Entities
from sandbox.snapchat.switches import switch
from sandbox.snapchat.times import TimeFormatError, epoch, iso_ms, parse_zoned, utc_ms

TYPES = {"campaign": "CAMPAIGN", "adsquad": "AD_SQUAD", "ad": "AD", "adaccount": "AD_ACCOUNT"}
GRANULARITIES = ("TOTAL", "DAY", "HOUR", "LIFETIME")
BREAKDOWNS = {"campaign": ("campaign", 3), "adsquad": ("adsquad", 2), "ad": ("ad", 1)}
LEVEL = {"adaccount": 4, "campaign": 3, "adsquad": 2, "ad": 1}
# Metric → events per impression (impressions themselves are the base rate).
RATIOS: dict[str, float] = {
    "impressions": 1.0,
    "paid_impressions": 1.0,
    "swipes": 0.02,
    "video_views": 0.35,
    "video_views_15s": 0.12,
    "quartile_1": 0.6,
    "quartile_2": 0.45,
    "quartile_3": 0.3,
    "view_completion": 0.2,
    "story_opens": 0.05,
    "story_completes": 0.02,
    "conversion_page_views": 0.01,
    "conversion_add_cart": 0.004,
    "conversion_sign_ups": 0.003,
    "conversion_purchases": 0.002,
    "total_installs": 0.002,
}
PER_IMPRESSION = {"spend": 5000, "screen_time_millis": 1800, "view_time_millis": 1500}  # spend: $5 CPM
DEFAULT_FIELDS = ("impressions", "spend")


def metric_at(delivered_s: float, rate: float, field: str) -> int:
    impressions = math.floor(rate * delivered_s)
    if field in PER_IMPRESSION:
        return impressions * PER_IMPRESSION[field]
    return math.floor(rate * RATIOS[field] * delivered_s)


class Metrics:
    """Cumulative delivery of ads, from their `_delivery` intervals."""

    def __init__(self, entities: Entities, now: float, base_rate: float, growth: bool) -> None:
        self.entities = entities
        self.now = now
        self.base_rate = base_rate
        self.growth = growth

    def rate(self, ad: SandboxObject) -> float:
        return self.base_rate * (0.75 + (zlib.crc32(ad.id.encode()) % 51) / 100)

    def window(self, ad: SandboxObject) -> tuple[float, float]:
        """When the ad may serve at all: inside its squad's and campaign's start/end times."""
        start, end = -math.inf, math.inf
        for parent in (self.entities.squad_of(ad), self.entities.campaign_of(ad)):
            if parent is None:
                continue
            s, e = epoch(parent.fields.get("start_time")), epoch(parent.fields.get("end_time"))
            start = max(start, s) if s is not None else start
            end = min(end, e) if e is not None else end
        return start, end

    def delivered(self, ad: SandboxObject, t: float) -> float:
        if not self.growth:
            return 0.0
        t = min(t, self.now)
        lo, hi = self.window(ad)
        total = 0.0
        for s, e in ad.fields.get("_delivery") or []:
            a, b = max(s, lo), min(e if e is not None else math.inf, hi, t)
            total += max(0.0, b - a)
        return total

    def totals(self, ads: list[SandboxObject], start: float, end: float, fields: list[str]) -> dict[str, int]:
        out = dict.fromkeys(fields, 0)
        for ad in ads:
            rate = self.rate(ad)
            d0, d1 = self.delivered(ad, start), self.delivered(ad, end)
            for field in fields:
                out[field] += metric_at(d1, rate, field) - metric_at(d0, rate, field)
        return out


def _fields(raw: str | None, config: Any) -> list[str]:
    if not raw:
        return list(DEFAULT_FIELDS)
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    known = set(RATIOS) | set(PER_IMPRESSION)
    unknown = [f for f in fields if f not in known]
    if unknown and switch(config, "stats_reject_unknown_fields"):
        raise bad_request(f"Invalid stats field(s): {', '.join(unknown)}")
    return [f for f in fields if f in known] or list(DEFAULT_FIELDS)


def _time(query: Any, name: str) -> datetime:
    if name not in query:
        raise bad_request(f"{name} is required for this granularity")
    try:
        return parse_zoned(query[name], name)
    except TimeFormatError as exc:
        raise bad_request(str(exc)) from None


def _buckets(start: datetime, end: datetime, zone: ZoneInfo, step: str) -> list[tuple[datetime, datetime]]:
    out = []
    cursor = start.astimezone(zone)
    stop = end.astimezone(zone)
    while cursor < stop:
        if step == "DAY":
            naive = cursor.replace(tzinfo=None) + timedelta(days=1)
            nxt = naive.replace(tzinfo=zone)
        else:
            nxt = (cursor.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
        nxt = min(nxt, stop)
        out.append((cursor, nxt))
        cursor = nxt
    return out


def _check_times(ctx: Ctx, start: datetime, end: datetime, granularity: str, zone: ZoneInfo) -> None:
    config = ctx.sandbox.config
    if end <= start:
        raise bad_request("end_time must be after start_time")
    if switch(config, "stats_require_hour_alignment"):
        for name, value in (("start_time", start), ("end_time", end)):
            if value.minute or value.second or value.microsecond:
                raise bad_request(f"{name} must be on the hour (minutes, seconds and milliseconds zero)")
    if granularity == "DAY" and switch(config, "stats_day_alignment"):
        for name, value in (("start_time", start), ("end_time", end)):
            local = value.astimezone(zone)
            if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
                raise bad_request(
                    f"{name} must be a midnight in the ad account's time zone ({zone.key}) "
                    "for DAY granularity"
                )
    limit_days = (switch(config, "stats_max_days") or {}).get(granularity)
    if limit_days and end - start > timedelta(days=limit_days):
        raise bad_request(f"{granularity} granularity supports at most {limit_days} days per request")


def stats(ctx: Ctx, kind: str) -> Result:
    key = {"campaign": "campaign_id", "adsquad": "adsquad_id", "ad": "ad_id", "adaccount": "account_id"}[kind]
    entity_id = ctx.param(key)
    obj = ctx.account(entity_id) if kind == "adaccount" else ctx.entity(kind, entity_id, allow_deleted=True)
    entities = ctx.sandbox.entities
    account = entities.account_of(obj)
    assert account is not None
    zone = ZoneInfo(str(account.fields.get("timezone") or "UTC"))
    query = ctx.request.query
    granularity = query.get("granularity")
    if granularity not in GRANULARITIES:
        raise bad_request(f"granularity is required: one of {', '.join(GRANULARITIES)}")
    fields = _fields(query.get("fields"), ctx.sandbox.config)
    breakdown = query.get("breakdown")
    if breakdown is not None and (breakdown not in BREAKDOWNS or BREAKDOWNS[breakdown][1] >= LEVEL[kind]):
        raise bad_request(f"Invalid breakdown {breakdown!r} for {TYPES[kind]} stats")
    metrics = Metrics(
        entities,
        ctx.now,
        float(switch(ctx.sandbox.config, "metrics_impressions_per_s")),
        bool(ctx.sandbox.config.metrics_growth),
    )
    finalized = utc_ms(math.floor(ctx.now / 3600) * 3600 - 7200)
    if granularity == "LIFETIME":
        stat: dict[str, Any] = {"id": obj.id, "type": TYPES[kind], "granularity": "LIFETIME"}
        stat["stats"] = metrics.totals(entities.ads_under(obj), -math.inf, ctx.now, fields)
        stat["finalized_data_end_time"] = finalized
        return 200, _wrap(ctx, "lifetime", stat)
    start, end = _time(query, "start_time"), _time(query, "end_time")
    _check_times(ctx, start, end, granularity, zone)
    a, b = start.timestamp(), end.timestamp()
    if granularity == "TOTAL":
        stat = {"id": obj.id, "type": TYPES[kind], "granularity": "TOTAL"}
        stat["stats"] = metrics.totals(entities.ads_under(obj), a, b, fields)
        stat.update(
            {"start_time": iso_ms(start), "end_time": iso_ms(end), "finalized_data_end_time": finalized}
        )
        if breakdown:
            stat["breakdown_stats"] = {
                breakdown: _breakdown(ctx, obj, breakdown, metrics, fields, a, b, None, "TOTAL")
            }
        return 200, _wrap(ctx, "total", stat)
    buckets = _buckets(start, end, zone, str(granularity))
    stat = {
        "id": obj.id,
        "type": TYPES[kind],
        "granularity": granularity,
        "start_time": iso_ms(start),
        "end_time": iso_ms(end),
        "finalized_data_end_time": finalized,
        "timeseries": _series(metrics, entities.ads_under(obj), buckets, fields),
    }
    if breakdown:
        stat["breakdown_stats"] = {
            breakdown: _breakdown(ctx, obj, breakdown, metrics, fields, a, b, buckets, str(granularity))
        }
    stat["attributing_party"] = "SNAPCHAT"
    return 200, _wrap(ctx, "timeseries", stat)


def _series(
    metrics: Metrics, ads: list[SandboxObject], buckets: list[tuple[datetime, datetime]], fields: list[str]
) -> list[dict[str, Any]]:
    return [
        {
            "start_time": iso_ms(s),
            "end_time": iso_ms(e),
            "stats": metrics.totals(ads, s.timestamp(), e.timestamp(), fields),
        }
        for s, e in buckets
    ]


def _breakdown(
    ctx: Ctx,
    obj: SandboxObject,
    level: str,
    metrics: Metrics,
    fields: list[str],
    a: float,
    b: float,
    buckets: list[tuple[datetime, datetime]] | None,
    granularity: str,
) -> list[dict[str, Any]]:
    entities = ctx.sandbox.entities
    groups: dict[str, list[SandboxObject]] = {}
    for ad in entities.ads_under(obj):
        if level == "ad":
            owner: SandboxObject | None = ad
        elif level == "adsquad":
            owner = entities.squad_of(ad)
        else:
            owner = entities.campaign_of(ad)
        if owner is not None:
            groups.setdefault(owner.id, []).append(ad)
    out = []
    for owner_id, ads in sorted(groups.items()):
        row: dict[str, Any] = {"id": owner_id, "type": TYPES[level], "granularity": granularity}
        if buckets is None:
            row["stats"] = metrics.totals(ads, a, b, fields)
        else:
            row["timeseries"] = _series(metrics, ads, buckets, fields)
        out.append(row)
    return out


def _wrap(ctx: Ctx, prefix: str, stat: dict[str, Any]) -> dict[str, Any]:
    return {
        "request_status": "SUCCESS",
        "request_id": ctx.request_id,
        f"{prefix}_stats": [{"sub_request_status": "SUCCESS", f"{prefix}_stat": stat}],
    }
