"""Daily metrics of one published campaign per level (campaign, ad set, ad), from Meta's Insights.

`GET /{campaign_id}/insights` with `level`, `time_range` and `time_increment=1` (platform-apis §1.9):
days are the ad account's, as Meta reports them, so `start`/`end` are dates in the account's time zone.
Values arrive as strings; `spend` in the account currency's major unit becomes integer micros with
Decimal arithmetic. Long ranges use the asynchronous report run (`POST …/insights` → poll the run's
`async_status` → read `/{run}/insights`), as does a synchronous call Meta refuses as too heavy.
Conversions are the pixel's website conversions (`actions` of type `offsite_conversion.*`), the events
adrelay optimizes for; other action types are kept in `raw`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from adrelay.events.payloads import ErrorCategory
from adrelay.platforms.common import DailyMetrics, ReportLevel, major_to_micros
from adrelay.platforms.errors import OutcomeUnknown, PlatformCallError
from adrelay.platforms.meta.client import Json, MetaClient

LEVELS: Mapping[ReportLevel, tuple[str, str]] = {
    "campaign": ("campaign", "campaign_id"),
    "ad_set": ("adset", "adset_id"),
    "ad": ("ad", "ad_id"),
}
METRICS = ("impressions", "clicks", "spend", "actions", "account_currency")
CONVERSION_PREFIX = "offsite_conversion."
SYNC_MAX_DAYS = 31  # longer ranges go through an asynchronous report run
# Insights refusals that mean "too much for a synchronous call": retry as a report run.
TOO_HEAVY_SUBCODES = frozenset({"1504018"})
RUN_DONE = "Job Completed"
RUN_FAILED = frozenset({"Job Failed", "Job Skipped"})


class MetaReporting:
    # Report runs: how often their status is read and how long one may take.
    run_poll_s = 2.0
    run_deadline_s = 600.0

    def __init__(self, client: MetaClient) -> None:
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
        use_report_run: bool | None = None,
    ) -> list[DailyMetrics]:
        """Every day in [start, end] with delivery, for the campaign and everything under it."""
        if end < start:
            raise ValueError("end before start")
        asynchronous = (end - start).days + 1 > SYNC_MAX_DAYS if use_report_run is None else use_report_run
        rows: list[DailyMetrics] = []
        for level in levels:
            params = insights_params(level, start, end)
            if asynchronous:
                raw_rows = await self._by_report_run(token, account_id, campaign_id, params)
            else:
                try:
                    raw_rows = await self._read(token, account_id, f"{campaign_id}/insights", params)
                except PlatformCallError as exc:
                    if exc.error.platform_subcode not in TOO_HEAVY_SUBCODES:
                        raise
                    raw_rows = await self._by_report_run(token, account_id, campaign_id, params)
            rows.extend(normalise(level, raw) for raw in raw_rows)
        return rows

    async def _read(self, token: str, account_id: str, path: str, params: Mapping[str, Any]) -> list[Json]:
        return await self.client.list_all(
            path, token, endpoint="GET /insights", account=account_id, params=params, insights=True
        )

    async def _by_report_run(
        self, token: str, account_id: str, campaign_id: str, params: Mapping[str, Any]
    ) -> list[Json]:
        try:
            started = await self.client.post(
                f"{campaign_id}/insights",
                token,
                endpoint="POST /insights",
                account=account_id,
                data=params,
                insights=True,
            )
        except OutcomeUnknown as exc:
            # A report run is only a query: starting another one is harmless.
            raise PlatformCallError.of(
                ErrorCategory.TRANSIENT, "starting a report run went unanswered"
            ) from exc
        run_id = str(started.get("report_run_id") or started.get("id") or "")
        if not run_id:
            raise PlatformCallError.of(ErrorCategory.UNKNOWN, f"report run without an id: {sorted(started)}")
        deadline = time.monotonic() + self.run_deadline_s
        while True:
            run = await self.client.get(
                run_id,
                token,
                endpoint="GET /report run",
                account=account_id,
                params={"fields": "async_status,async_percent_completion"},
                insights=True,
            )
            status = str(run.get("async_status") or "")
            if status == RUN_DONE:
                return await self._read(token, account_id, f"{run_id}/insights", {})
            if status in RUN_FAILED:
                raise PlatformCallError.of(ErrorCategory.TRANSIENT, f"report run {run_id}: {status}")
            if time.monotonic() > deadline:
                raise PlatformCallError.of(ErrorCategory.TRANSIENT, f"report run {run_id} still {status!r}")
            await asyncio.sleep(self.run_poll_s)

    async def close(self) -> None:
        await self.client.close()


def insights_params(level: ReportLevel, start: date, end: date) -> dict[str, Any]:
    meta_level, id_field = LEVELS[level]
    return {
        "level": meta_level,
        "fields": ",".join((id_field, *METRICS)),
        "time_range": {"since": start.isoformat(), "until": end.isoformat()},
        "time_increment": 1,
    }


def normalise(level: ReportLevel, row: Mapping[str, Any]) -> DailyMetrics:
    return DailyMetrics(
        date=date.fromisoformat(str(row["date_start"])),
        level=level,
        external_id=str(row[LEVELS[level][1]]),
        impressions=_count(row.get("impressions")),
        clicks=_count(row.get("clicks")),
        spend_micros=major_to_micros(row.get("spend")),
        conversions=conversions(row.get("actions")),
        raw=dict(row),
    )


def conversions(actions: Any) -> int:
    if not isinstance(actions, list):
        return 0
    return sum(
        _count(a.get("value"))
        for a in actions
        if isinstance(a, Mapping) and str(a.get("action_type", "")).startswith(CONVERSION_PREFIX)
    )


def _count(value: Any) -> int:
    if value in (None, ""):
        return 0
    return int(str(value).split(".", 1)[0])
