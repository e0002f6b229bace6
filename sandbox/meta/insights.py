"""Insights: metrics that grow while an ad is ACTIVE, read back in Meta's shape.

Each ad delivers at a fixed rate while its effective status is ACTIVE (intervals kept by
`Objects.refresh_activity`). Cumulative counts are floors of rate times active seconds, so a day's value
is the difference of two cumulative values and a closed day reads the same every time. Days are cut
at midnight in the ad account's time zone. Values are strings; `spend` is in major units.
Breakdowns are not modelled (the sandbox refuses them rather than returning unbroken rows).
"""

from __future__ import annotations

import calendar
import json
import math
import zlib
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.common.store import SandboxObject
from sandbox.meta import money, spec
from sandbox.meta.errors import GraphError, bad_enum, bad_type
from sandbox.meta.listing import Resolver, matches, parse_filtering
from sandbox.meta.objects import Objects

LEVELS = ("account", "campaign", "adset", "ad")
LEVEL_OF_KIND = {"adaccount": "account", "campaign": "campaign", "adset": "adset", "ad": "ad"}
DEFAULT_FIELDS = ["impressions", "spend"]
DATE_PRESETS = spec.enums()["adaccountinsights_date_preset_enum_param"]
INSIGHTS_FIELDS = set(spec.fields("AdsInsights"))


class Rates:
    def __init__(self, per_second: float, ctr: float, cpm_minor: float) -> None:
        self.per_second = per_second
        self.ctr = ctr
        self.cpm_minor = cpm_minor


def _active_seconds(intervals: list[list[float | None]], until: float) -> float:
    total = 0.0
    for start, end in intervals:
        assert start is not None
        stop = until if end is None else min(end, until)
        if stop > start:
            total += stop - start
    return total


class Insights:
    def __init__(self, objects: Objects, resolver: Resolver, extra_offset_one: list[str]) -> None:
        self.objects = objects
        self.resolver = resolver
        self.extra_offset_one = extra_offset_one

    # ---- cumulative metrics ------------------------------------------------------------------
    def _cumulative(self, ad: SandboxObject, at: float, rates: Rates) -> tuple[int, int, float]:
        factor = 0.75 + (zlib.crc32(ad.id.encode()) % 50) / 100
        seconds = _active_seconds(ad.fields.get("_active", []), at)
        imps = math.floor(seconds * rates.per_second * factor)
        clicks = math.floor(imps * rates.ctr)
        # Whole minor units, as Meta bills: each row's spend is then exact, and the rows of one
        # level add up to the level above to the cent.
        spend = float(math.floor(imps * rates.cpm_minor / 1000))
        return imps, clicks, spend

    # ---- params ---------------------------------------------------------------------------
    def date_range(self, params: dict[str, Any], tz: str, now: float) -> tuple[date, date]:
        today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
        if params.get("time_range"):
            raw = params["time_range"]
            value = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(value, dict) or "since" not in value or "until" not in value:
                raise bad_type("time_range", "a JSON object with since and until (YYYY-MM-DD)")
            try:
                since = date.fromisoformat(str(value["since"]))
                until = date.fromisoformat(str(value["until"]))
            except ValueError as exc:
                raise GraphError("(#100) Param time_range must use dates formatted YYYY-MM-DD") from exc
            if since > until:
                raise GraphError("(#100) The start date of the time range cannot be after the end date.")
            if since < _months_back(today, 37):
                raise GraphError(
                    "(#3018) The start date of the time range cannot be beyond 37 months from the "
                    "current date",
                    3018,
                )
            return since, until
        preset = str(params.get("date_preset") or "last_30d")
        if preset not in DATE_PRESETS:
            raise bad_enum("date_preset", DATE_PRESETS)
        return _preset(preset, today)

    def buckets(self, since: date, until: date, increment: Any) -> list[tuple[date, date]]:
        inc = str(increment or "all_days")
        if inc == "all_days":
            return [(since, until)]
        if inc == "monthly":
            out = []
            start = since
            while start <= until:
                last = date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
                out.append((start, min(last, until)))
                start = last + timedelta(days=1)
            return out
        if not inc.isdigit() or not 1 <= int(inc) <= 90:
            raise GraphError(
                "(#100) Param time_increment must be all_days, monthly or an integer from 1 to 90"
            )
        step = int(inc)
        out = []
        start = since
        while start <= until:
            end = min(start + timedelta(days=step - 1), until)
            out.append((start, end))
            start = end + timedelta(days=1)
        return out

    # ---- rows ---------------------------------------------------------------------------------
    def rows(
        self, node: SandboxObject, params: dict[str, Any], now: float, rates: Rates
    ) -> list[dict[str, Any]]:
        if params.get("breakdowns") or params.get("action_breakdowns"):
            raise GraphError("(#100) breakdowns are not supported by this sandbox", 100)
        fields = self._fields(params.get("fields"))
        node_level = LEVEL_OF_KIND[node.kind]
        level = str(params.get("level") or node_level)
        if level not in LEVELS:
            raise bad_enum("level", list(LEVELS))
        if LEVELS.index(level) < LEVELS.index(node_level):
            level = node_level
        acct = node if node.kind == "adaccount" else self.objects.account_of(node)
        assert acct is not None
        tz = acct.fields.get("timezone_name", "UTC")
        currency = acct.fields.get("currency", "USD")
        since, until = self.date_range(params, tz, now)
        ads = [a for a in self._ads_under(node)]
        for rule in parse_filtering(params.get("filtering")):
            ads = [a for a in ads if self._keep(a, rule)]
        rows: list[dict[str, Any]] = []
        for start, end in self.buckets(since, until, params.get("time_increment")):
            t0 = _midnight(start, tz)
            t1 = min(_midnight(end + timedelta(days=1), tz), now)
            if t1 <= t0:
                continue
            groups: dict[str, list[SandboxObject]] = {}
            for ad in ads:
                groups.setdefault(self._group_key(ad, level, acct), []).append(ad)
            for key, members in groups.items():
                imps = clicks = 0
                spend = 0.0
                for ad in members:
                    i1, c1, s1 = self._cumulative(ad, t1, rates)
                    i0, c0, s0 = self._cumulative(ad, t0, rates)
                    imps += i1 - i0
                    clicks += c1 - c0
                    spend += s1 - s0
                if imps <= 0:
                    continue
                rows.append(
                    self._row(fields, key, level, members[0], acct, currency, imps, clicks, spend, start, end)
                )
        return rows

    def _fields(self, raw: Any) -> list[str]:
        if raw is None or raw == "":
            return DEFAULT_FIELDS
        names = json.loads(raw) if isinstance(raw, str) and raw.startswith("[") else str(raw).split(",")
        out = []
        for name in names:
            name = str(name).strip()
            if name not in INSIGHTS_FIELDS:
                raise GraphError(
                    f"(#100) {name} is not valid for fields param. please check "
                    "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ for "
                    "all valid "
                    "values"
                )
            out.append(name)
        return out

    def _ads_under(self, node: SandboxObject) -> list[SandboxObject]:
        ads = self.objects.store.all("ad")
        if node.kind == "adaccount":
            return [a for a in ads if a.account_id == node.account_id]
        if node.kind == "ad":
            return [node]
        if node.kind == "adset":
            return [a for a in ads if a.parent_id == node.id]
        return [a for a in ads if (self.objects.campaign_of(a) or a).id == node.id]

    def _keep(self, ad: SandboxObject, rule: dict[str, Any]) -> bool:
        found, value = self.resolver.value(ad, rule["field"])
        return True if not found else matches(value, rule["operator"], rule["value"], True)

    def _group_key(self, ad: SandboxObject, level: str, acct: SandboxObject) -> str:
        if level == "ad":
            return ad.id
        if level == "adset":
            return ad.parent_id or ""
        if level == "campaign":
            campaign = self.objects.campaign_of(ad)
            return campaign.id if campaign else ""
        return acct.id

    def _row(
        self,
        fields: list[str],
        key: str,
        level: str,
        ad: SandboxObject,
        acct: SandboxObject,
        currency: str,
        imps: int,
        clicks: int,
        spend_minor: float,
        start: date,
        end: date,
    ) -> dict[str, Any]:
        campaign = self.objects.campaign_of(ad)
        adset = self.objects.adset_of(ad)
        reach = max(1, math.floor(imps * 0.8))
        spend = money.major(spend_minor, currency, self.extra_offset_one)
        spend_major = float(spend)
        full: dict[str, Any] = {
            "account_id": acct.account_id,
            "account_name": acct.name,
            "account_currency": currency,
            "impressions": str(imps),
            "reach": str(reach),
            "frequency": f"{imps / reach:.6f}",
            "clicks": str(clicks),
            "unique_clicks": str(math.floor(clicks * 0.9)),
            "inline_link_clicks": str(clicks),
            "spend": spend,
            "ctr": f"{clicks / imps * 100:.6f}",
            "cpm": f"{spend_major / imps * 1000:.6f}",
            "cpc": f"{spend_major / clicks:.6f}" if clicks else None,
            "cpp": f"{spend_major / reach * 1000:.6f}",
            "actions": [{"action_type": "link_click", "value": str(clicks)}] if clicks else None,
            "date_start": start.isoformat(),
            "date_stop": end.isoformat(),
        }
        if level in {"campaign", "adset", "ad"} and campaign is not None:
            full.update(
                campaign_id=campaign.id,
                campaign_name=campaign.name,
                objective=campaign.fields.get("objective"),
                buying_type=campaign.fields.get("buying_type", "AUCTION"),
            )
        if level in {"adset", "ad"} and adset is not None:
            full.update(adset_id=adset.id, adset_name=adset.name)
        if level == "ad":
            full.update(ad_id=ad.id, ad_name=ad.name)
        row = {f: full[f] for f in fields if full.get(f) is not None}
        for always in ("date_start", "date_stop"):
            row[always] = full[always]
        return row


def _midnight(day: date, tz: str) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp()


def _months_back(today: date, months: int) -> date:
    year, month = today.year, today.month - months
    while month <= 0:
        month += 12
        year -= 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _preset(preset: str, today: date) -> tuple[date, date]:
    one = timedelta(days=1)
    if preset == "today":
        return today, today
    if preset == "yesterday":
        return today - one, today - one
    if preset.startswith("last_") and preset.endswith("d") and preset[5:-1].isdigit():
        days = int(preset[5:-1])
        return today - timedelta(days=days), today - one
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - one
        return end.replace(day=1), end
    if preset == "this_quarter":
        return _quarter_start(today), today
    if preset == "last_quarter":
        end = _quarter_start(today) - one
        return _quarter_start(end), end
    if preset == "this_year":
        return date(today.year, 1, 1), today
    if preset == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    if preset == "this_week_mon_today":
        return today - timedelta(days=today.weekday()), today
    if preset == "this_week_sun_today":
        return today - timedelta(days=(today.weekday() + 1) % 7), today
    if preset == "last_week_mon_sun":
        start = today - timedelta(days=today.weekday() + 7)
        return start, start + timedelta(days=6)
    if preset == "last_week_sun_sat":
        start = today - timedelta(days=(today.weekday() + 1) % 7 + 7)
        return start, start + timedelta(days=6)
    # maximum, data_maximum
    return _months_back(today, 37), today
