"""Daily metrics of one published campaign per level (campaign, ad set, ad), from Snap's stats.

`GET /{campaigns|adsquads|ads}/{id}/stats?granularity=DAY&start_time&end_time&fields=…` answers
`timeseries_stats[].timeseries_stat.timeseries[{start_time,end_time,stats}]` [O] (platform-apis §3.9).
DAY needs local midnights of the ad account's time zone (UNCONFIRMED rule, enforced by the sandbox),
so the range is asked for in that zone, in windows of at most 31 days (the sandbox's 32-day cap, also
UNCONFIRMED). Snap's stats are synchronous; its asynchronous CSV reports are not needed for one
campaign. The ad squads and ads under the campaign are found through the same paged lists as
lookups (deleted ones included: they delivered too). `spend` is already integer micro-currency [O];
clicks are swipe ups; conversions are the pixel events adrelay optimizes for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from adrelay.platforms.base import TokenSource
from adrelay.platforms.common import DailyMetrics, ReportLevel
from adrelay.platforms.snapchat.client import Caller, SnapClient
from adrelay.platforms.snapchat.limits import EndpointClass

WINDOW_DAYS = 31
CONVERSION_FIELDS = ("conversion_purchases", "conversion_sign_ups", "conversion_add_cart")
FIELDS = ("impressions", "swipes", "spend", *CONVERSION_FIELDS)
# Our level → (Snap kind, stats path of one entity).
LEVELS: Mapping[ReportLevel, tuple[str, str]] = {
    "campaign": ("campaign", "/campaigns/{}/stats"),
    "ad_set": ("adsquad", "/adsquads/{}/stats"),
    "ad": ("ad", "/ads/{}/stats"),
}


class _GivenToken(TokenSource):
    """The tracker hands over a token it already holds; a refusal goes back to it classified."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def access_token(self) -> str:
        return self.token

    async def after_auth_error(self, failed_token: str) -> str | None:
        return None


class SnapchatReporting:
    def __init__(self, client: SnapClient) -> None:
        self.client = client

    async def daily_metrics(
        self,
        token: str,
        account_id: str,
        campaign_id: str,
        start: date,
        end: date,
        *,
        levels: Sequence[ReportLevel] = ("campaign", "ad_set", "ad"),
        timezone: str | None = None,
        connection_id: str | None = None,
    ) -> list[DailyMetrics]:
        """Every day in [start, end] (days of the ad account) with delivery, for the campaign and
        everything under it. `timezone` saves a read of the ad account when the caller knows it."""
        if end < start:
            raise ValueError("end before start")
        caller = Caller(_GivenToken(token), connection_id or account_id)
        zone = ZoneInfo(timezone or await self._account_timezone(caller, account_id))
        ids = await self._ids(caller, campaign_id, levels)
        rows: list[DailyMetrics] = []
        for level in levels:
            for external_id in ids[level]:
                for window_start, window_end in windows(start, end):
                    body = await self.client.read(
                        caller,
                        LEVELS[level][1].format(external_id),
                        stats_params(window_start, window_end, zone),
                        endpoint="GET " + LEVELS[level][1].format("{id}"),
                        klass=EndpointClass.STATS,
                    )
                    rows.extend(r for r in normalise(level, external_id, body, zone) if _delivered(r))
        return rows

    async def close(self) -> None:
        await self.client.http.close()

    async def _account_timezone(self, caller: Caller, account_id: str) -> str:
        account = await self.client.get(
            caller, f"/adaccounts/{account_id}", "adaccount", endpoint="GET /adaccounts/{ad_account_id}"
        )
        return str(account.get("timezone") or "UTC")

    async def _ids(
        self, caller: Caller, campaign_id: str, levels: Sequence[ReportLevel]
    ) -> dict[ReportLevel, list[str]]:
        ids: dict[ReportLevel, list[str]] = {"campaign": [campaign_id], "ad_set": [], "ad": []}
        if "ad_set" not in levels and "ad" not in levels:
            return ids
        squads = await self.client.list_all(
            caller,
            f"/campaigns/{campaign_id}/adsquads",
            "adsquad",
            endpoint="GET /campaigns/{campaign_id}/adsquads",
        )
        ids["ad_set"] = [str(s["id"]) for s in squads]
        if "ad" in levels:
            for squad_id in ids["ad_set"]:
                ads = await self.client.list_all(
                    caller, f"/adsquads/{squad_id}/ads", "ad", endpoint="GET /adsquads/{ad_squad_id}/ads"
                )
                ids["ad"].extend(str(a["id"]) for a in ads)
        return ids


def windows(start: date, end: date, days: int = WINDOW_DAYS) -> list[tuple[date, date]]:
    """[start, end] cut into inclusive windows of at most `days` days."""
    out = []
    cursor = start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=days - 1))
        out.append((cursor, last))
        cursor = last + timedelta(days=1)
    return out


def stats_params(first: date, last: date, zone: ZoneInfo) -> dict[str, str]:
    """DAY stats from the first day's local midnight to the midnight after the last day."""
    return {
        "granularity": "DAY",
        "start_time": datetime.combine(first, time(0), zone).isoformat(),
        "end_time": datetime.combine(last + timedelta(days=1), time(0), zone).isoformat(),
        "fields": ",".join(FIELDS),
    }


def normalise(
    level: ReportLevel, external_id: str, body: Mapping[str, Any], zone: ZoneInfo
) -> list[DailyMetrics]:
    rows = []
    for entry in body.get("timeseries_stats") or []:
        stat = entry.get("timeseries_stat") if isinstance(entry, dict) else None
        if not isinstance(stat, dict):
            continue
        for bucket in stat.get("timeseries") or []:
            stats = bucket.get("stats") or {}
            day = (
                datetime.fromisoformat(str(bucket["start_time"]).replace("Z", "+00:00"))
                .astimezone(zone)
                .date()
            )
            rows.append(
                DailyMetrics(
                    date=day,
                    level=level,
                    external_id=str(stat.get("id") or external_id),
                    impressions=_count(stats.get("impressions")),
                    clicks=_count(stats.get("swipes")),
                    spend_micros=_count(stats.get("spend")),
                    conversions=sum(_count(stats.get(f)) for f in CONVERSION_FIELDS),
                    raw=dict(bucket),
                )
            )
    return rows


def _delivered(row: DailyMetrics) -> bool:
    return bool(row.impressions or row.clicks or row.spend_micros or row.conversions)


def _count(value: Any) -> int:
    """A count or micro amount as Snap sends it (an integer; strings and decimals tolerated exactly)."""
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        return value
    return int(Decimal(str(value)).to_integral_value(rounding=ROUND_HALF_EVEN))
