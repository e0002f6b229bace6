"""Daily metrics of one published campaign, per level (campaign, ad group, ad), from TikTok's reports.

BASIC auction reports (platform-apis §2.11): `data_level` AUCTION_CAMPAIGN / AUCTION_ADGROUP / AUCTION_AD,
dimensions `<level>_id` + `stat_time_day`, dates `YYYY-MM-DD` in the advertiser's time zone (TikTok
reports in it; so do we), at most 30 days per request with a day dimension. Metric values arrive as
strings, spend in the account currency's major unit: spend becomes integer micros with Decimal
arithmetic, never floats. The synchronous `/report/integrated/get/` is paged; the asynchronous task
(`/report/task/create/` → `/report/task/check/` → `/report/task/download/`, CSV) serves large ranges
(the download's CSV shape is the sandbox's, UNCONFIRMED against the live API).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from adrelay.events.payloads import ErrorCategory
from adrelay.platforms.common import DailyMetrics, ReportLevel, major_to_micros
from adrelay.platforms.errors import PlatformCallError
from adrelay.platforms.tiktok.client import TikTokClient

Level = ReportLevel
DATA_LEVELS: dict[Level, tuple[str, str]] = {
    "campaign": ("AUCTION_CAMPAIGN", "campaign_id"),
    "ad_set": ("AUCTION_ADGROUP", "adgroup_id"),
    "ad": ("AUCTION_AD", "ad_id"),
}
METRICS = ("spend", "impressions", "clicks", "conversion")
MAX_DAYS_PER_REQUEST = 30
TASK_POLL_S = 1.0
TASK_DEADLINE_S = 600.0
TASK_DONE, TASK_FAILED = "SUCCESS", frozenset({"FAILED", "CANCELED", "CANCELLED"})


class TikTokReporting:
    def __init__(self, client: TikTokClient) -> None:
        self.client = client

    async def daily_metrics(
        self,
        token: str,
        advertiser_id: str,
        campaign_id: str,
        start: date,
        end: date,
        *,
        levels: Sequence[Level] = ("campaign", "ad_set", "ad"),
        use_task: bool = False,
    ) -> list[DailyMetrics]:
        """Every day in [start, end] with delivery, for the campaign and everything under it."""
        rows: list[DailyMetrics] = []
        for level in levels:
            for window_start, window_end in windows(start, end):
                params = report_params(advertiser_id, campaign_id, level, window_start, window_end)
                raw_rows = await (self._by_task(token, params) if use_task else self._sync(token, params))
                rows.extend(normalise(level, raw) for raw in raw_rows)
        return rows

    async def _sync(self, token: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async for page in self.client.pages("/report/integrated/get/", token, params):
            out.extend(page)
        return out

    async def _by_task(self, token: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        created = await self.client.post("/report/task/create/", token, params)
        task_id = str(created["task_id"])
        query = {"advertiser_id": params["advertiser_id"], "task_id": task_id}
        deadline = time.monotonic() + TASK_DEADLINE_S
        while True:
            status = str((await self.client.get("/report/task/check/", token, query)).get("status") or "")
            if status == TASK_DONE:
                break
            if status in TASK_FAILED:
                raise PlatformCallError.of(ErrorCategory.TRANSIENT, f"report task {task_id} ended {status}")
            if time.monotonic() > deadline:
                raise PlatformCallError.of(ErrorCategory.TRANSIENT, f"report task {task_id} still {status}")
            await asyncio.sleep(TASK_POLL_S)
        text = await self.client.download("/report/task/download/", token, query)
        return csv_rows(text, DATA_LEVELS[params_level(params)][1])


def windows(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut into windows TikTok accepts with a day dimension."""
    if end < start:
        raise ValueError("end before start")
    out = []
    cursor = start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=MAX_DAYS_PER_REQUEST - 1))
        out.append((cursor, last))
        cursor = last + timedelta(days=1)
    return out


def report_params(
    advertiser_id: str, campaign_id: str, level: Level, start: date, end: date
) -> dict[str, Any]:
    data_level, id_dimension = DATA_LEVELS[level]
    return {
        "advertiser_id": advertiser_id,
        "report_type": "BASIC",
        "service_type": "AUCTION",
        "data_level": data_level,
        "dimensions": [id_dimension, "stat_time_day"],
        "metrics": list(METRICS),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        # v1.3 filter objects; filter_value is a JSON-encoded list (UNCONFIRMED beyond the sandbox).
        "filtering": [
            {"field_name": "campaign_ids", "filter_type": "IN", "filter_value": json.dumps([campaign_id])}
        ],
    }


def params_level(params: Mapping[str, Any]) -> Level:
    return next(level for level, (data_level, _) in DATA_LEVELS.items() if data_level == params["data_level"])


def csv_rows(text: str, id_dimension: str) -> list[dict[str, Any]]:
    """The task's CSV (header = dimensions + metrics) as integrated-report rows."""
    rows = []
    for record in csv.DictReader(io.StringIO(text)):
        dimensions = {k: record[k] for k in (id_dimension, "stat_time_day") if k in record}
        metrics = {k: v for k, v in record.items() if k not in dimensions}
        rows.append({"dimensions": dimensions, "metrics": metrics})
    return rows


def normalise(level: Level, row: Mapping[str, Any]) -> DailyMetrics:
    dimensions = row.get("dimensions") or {}
    metrics = row.get("metrics") or {}
    day = str(dimensions.get("stat_time_day") or "")[:10]
    return DailyMetrics(
        date=date.fromisoformat(day),
        level=level,
        external_id=str(dimensions[DATA_LEVELS[level][1]]),
        impressions=_count(metrics.get("impressions")),
        clicks=_count(metrics.get("clicks")),
        spend_micros=spend_micros(metrics.get("spend")),
        conversions=_count(metrics.get("conversion")),
        raw=dict(row),
    )


spend_micros = major_to_micros  # TikTok reports spend in major units


def _count(value: Any) -> int:
    if value in (None, ""):
        return 0
    return int(Decimal(str(value)))
