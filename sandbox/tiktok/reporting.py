"""`/report/integrated/get/` (synchronous) and the async `/report/task/create/`, `/report/task/check/`,
`/report/task/download/`.

BASIC reports at AUCTION_ADVERTISER / _CAMPAIGN / _ADGROUP / _AD level; dimensions = the level's id
(+ `stat_time_day` or `stat_time_hour`); dates are in the advertiser's time zone (≤30 days with
`stat_time_day`, ≤1 day with `stat_time_hour`) or `query_lifetime`. Metric values are strings, spend
in major units. Rows whose metrics are all zero are left out. v1.3 `filtering` is a list of
`{"field_name","filter_type","filter_value"}` objects.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from sandbox.common.store import SandboxObject
from sandbox.tiktok import errors
from sandbox.tiktok.api import Ctx
from sandbox.tiktok.errors import ApiError, param_error
from sandbox.tiktok.listing import page_args, paginate
from sandbox.tiktok.metrics import Counts, MetricsEngine, local_day_bounds
from sandbox.tiktok.objects import AD, ADGROUP, CAMPAIGN, parents
from sandbox.tiktok.params import Params
from sandbox.tiktok.state import ReportTask

LEVELS = {
    "AUCTION_ADVERTISER": ("advertiser_id", None),
    "AUCTION_CAMPAIGN": ("campaign_id", CAMPAIGN),
    "AUCTION_ADGROUP": ("adgroup_id", ADGROUP),
    "AUCTION_AD": ("ad_id", AD),
}
TIME_DIMENSIONS = ("stat_time_day", "stat_time_hour")
NUMERIC_METRICS = (
    "spend",
    "impressions",
    "clicks",
    "ctr",
    "cpc",
    "cpm",
    "reach",
    "frequency",
    "conversion",
    "cost_per_conversion",
    "conversion_rate",
)
ATTRIBUTE_METRICS = {
    "AUCTION_ADVERTISER": ("advertiser_name", "currency"),
    "AUCTION_CAMPAIGN": ("campaign_name", "objective_type", "currency"),
    "AUCTION_ADGROUP": ("campaign_name", "campaign_id", "adgroup_name", "objective_type", "currency"),
    "AUCTION_AD": (
        "campaign_name",
        "campaign_id",
        "adgroup_name",
        "adgroup_id",
        "ad_name",
        "ad_text",
        "currency",
    ),
}
FILTER_FIELDS = {"campaign_ids": CAMPAIGN, "adgroup_ids": ADGROUP, "ad_ids": AD}
REPORT_FIELDS = (
    "advertiser_id",
    "report_type",
    "data_level",
    "dimensions",
    "metrics",
    "start_date",
    "end_date",
    "query_lifetime",
    "filtering",
    "page",
    "page_size",
    "order_field",
    "order_type",
    "enable_total_metrics",
    "service_type",
    "query_mode",
    "multi_adv_report_in_utc_time",
    "output_format",
    "file_name",
)


def _ratio(num: Decimal, den: Decimal, scale: Decimal, places: str) -> str:
    if den == 0:
        return str(Decimal(0).quantize(Decimal(places)))
    return str((num * scale / den).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _metric_values(counts: Counts, names: list[str], quantum: Decimal) -> dict[str, str]:
    spend, imps, clicks, conv = (
        counts.spend,
        Decimal(counts.impressions),
        Decimal(counts.clicks),
        Decimal(counts.conversions),
    )
    values = {
        "spend": str(spend.quantize(quantum)),
        "impressions": str(counts.impressions),
        "clicks": str(counts.clicks),
        "reach": str(counts.reach),
        "conversion": str(counts.conversions),
        "ctr": _ratio(clicks, imps, Decimal(100), "0.01"),
        "cpc": _ratio(spend, clicks, Decimal(1), "0.01"),
        "cpm": _ratio(spend, imps, Decimal(1000), "0.01"),
        "frequency": _ratio(imps, Decimal(counts.reach), Decimal(1), "0.01"),
        "cost_per_conversion": _ratio(spend, conv, Decimal(1), "0.01"),
        "conversion_rate": _ratio(conv, clicks, Decimal(100), "0.01"),
    }
    return {n: values[n] for n in names if n in values}


class ReportQuery:
    """A validated report request."""

    def __init__(self, ctx: Ctx, p: Params) -> None:
        self.ctx = ctx
        self.adv = ctx.advertiser(p.id("advertiser_id", required=True))
        report_type = p.enum(
            "report_type", ("BASIC", "AUDIENCE", "PLAYABLE_MATERIAL", "CATALOG"), required=True
        )
        if report_type != "BASIC":
            raise param_error("report_type", f"{report_type} reports are not available for this advertiser.")
        service_type = p.enum("service_type", ("AUCTION", "RESERVATION"), default="AUCTION")
        if service_type != "AUCTION":
            raise param_error("service_type", "RESERVATION reports are not available for this advertiser.")
        self.level = p.enum("data_level", tuple(LEVELS), required=True) or ""
        self.id_dim, self.kind = LEVELS[self.level]
        dims = p.string_list("dimensions", required=True, min_items=1, max_items=4) or []
        time_dims = [d for d in dims if d in TIME_DIMENSIONS]
        for d in dims:
            if d != self.id_dim and d not in TIME_DIMENSIONS:
                raise param_error("dimensions", f"Invalid dimension {d!r} for data_level {self.level}.")
        if len(time_dims) > 1 or len(set(dims)) != len(dims):
            raise param_error("dimensions", "At most one time dimension, and no repeated dimensions.")
        self.dims = dims
        self.time_dim = time_dims[0] if time_dims else None
        allowed = (*NUMERIC_METRICS, *ATTRIBUTE_METRICS[self.level])
        self.metrics = p.string_list("metrics", max_items=200) or ["spend", "impressions"]
        for m in self.metrics:
            if m not in allowed:
                raise param_error("metrics", f"Invalid metric {m!r} for data_level {self.level}.")
        self.lifetime = bool(p.boolean("query_lifetime", default=False))
        self.start: date | None = None
        self.end: date | None = None
        if self.lifetime:
            if self.time_dim:
                raise param_error("dimensions", f"{self.time_dim} cannot be used with query_lifetime.")
        else:
            self.start = p.day("start_date", required=True)
            self.end = p.day("end_date", required=True)
            assert self.start is not None and self.end is not None
            if self.end < self.start:
                raise param_error("end_date", "Must not be earlier than start_date.")
            span = (self.end - self.start).days + 1
            limit = {"stat_time_day": 30, "stat_time_hour": 1}.get(self.time_dim or "", 365)
            if span > limit:
                raise param_error(
                    "end_date", f"The date range must be at most {limit} day(s) for these dimensions."
                )
        self.filters = self._filters(p)
        self.total = bool(p.boolean("enable_total_metrics", default=False))

    def _filters(self, p: Params) -> dict[str, set[str]]:
        raw = p.array("filtering", max_items=20) or []
        out: dict[str, set[str]] = {}
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise param_error(f"filtering.{i}", "Not a valid mapping type.")
            f = Params(item, prefix=f"filtering.{i}.")
            name = f.string("field_name", required=True)
            f.enum(
                "filter_type",
                ("IN", "MATCH", "GREATER_EQUAL", "GREATER_THAN", "LOWER_EQUAL", "LOWER_THAN", "BETWEEN"),
                required=True,
            )
            value = f.string("filter_value", required=True)
            if name not in FILTER_FIELDS:
                if self.ctx.switch("unknown_filter_keys") == "reject":
                    raise f.error("field_name", f"Unsupported filter field {name!r}.")
                continue
            try:
                values = json.loads(value or "")
            except json.JSONDecodeError:
                raise f.error("filter_value", "Not a valid JSON-encoded list.") from None
            if not isinstance(values, list):
                raise f.error("filter_value", "Not a valid JSON-encoded list.")
            out[name or ""] = {str(v) for v in values}
        return out

    def buckets(self, tz: Any) -> list[tuple[str | None, float, float]]:
        """(label, lo, hi) time buckets in the advertiser's zone."""
        if self.lifetime:
            return [(None, 0.0, self.ctx.now)]
        assert self.start is not None and self.end is not None
        out: list[tuple[str | None, float, float]] = []
        day = self.start
        while day <= self.end:
            lo, hi = local_day_bounds(day, tz)
            if self.time_dim == "stat_time_hour":
                for hour in range(24):
                    start = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
                    h_lo = start.timestamp()
                    out.append((start.strftime("%Y-%m-%d %H:00:00"), h_lo, min(h_lo + 3600, hi)))
            else:
                out.append((f"{day.isoformat()} 00:00:00" if self.time_dim else None, lo, hi))
            day += timedelta(days=1)
        if self.time_dim is None:
            return [(None, out[0][1], out[-1][2])]
        return out

    def _entities(self) -> list[tuple[str, list[SandboxObject], SandboxObject | None]]:
        """(id, ads under it, the object) for each entity of the level."""
        ads = [a for a in self.ctx.store.all(AD) if a.account_id == self.adv.advertiser_id]
        groups: dict[str, tuple[list[SandboxObject], SandboxObject | None]] = {}
        if self.kind is None:
            groups[self.adv.advertiser_id] = (ads, None)
        else:
            for obj in self.ctx.store.all(self.kind):
                if obj.account_id == self.adv.advertiser_id:
                    groups[obj.id] = ([], obj)
            for ad in ads:
                campaign, adgroup = parents(self.ctx.sb, ad)
                key = {
                    CAMPAIGN: campaign.id if campaign else "",
                    ADGROUP: adgroup.id if adgroup else "",
                    AD: ad.id,
                }[self.kind]
                if key in groups:
                    groups[key][0].append(ad)
        out: list[tuple[str, list[SandboxObject], SandboxObject | None]] = []
        for key, (group_ads, entity) in groups.items():
            out.append((key, [a for a in group_ads if self._passes(a)], entity))
        return out

    def _passes(self, ad: SandboxObject) -> bool:
        campaign, adgroup = parents(self.ctx.sb, ad)
        ids = {CAMPAIGN: campaign.id if campaign else "", ADGROUP: adgroup.id if adgroup else "", AD: ad.id}
        return all(ids[FILTER_FIELDS[name]] in values for name, values in self.filters.items())

    def _attributes(self, obj: SandboxObject | None) -> dict[str, str]:
        currency = self.adv.currency
        if obj is None:
            return {"advertiser_name": self.adv.name, "currency": currency}
        campaign, adgroup = parents(self.ctx.sb, obj)
        campaign = obj if obj.kind == CAMPAIGN else campaign
        adgroup = obj if obj.kind == ADGROUP else adgroup
        out = {"currency": currency}
        if campaign is not None:
            out.update(campaign_name=campaign.name, campaign_id=campaign.id)
            out["objective_type"] = str(campaign.fields.get("objective_type"))
        if adgroup is not None:
            out.update(adgroup_name=adgroup.name, adgroup_id=adgroup.id)
        if obj.kind == AD:
            out.update(ad_name=obj.name, ad_text=str(obj.fields.get("ad_text") or ""))
        return out

    def rows(self) -> tuple[list[dict[str, Any]], dict[str, str]]:
        engine = MetricsEngine(self.ctx.sb, self.ctx.now)
        tz = engine.tz(self.adv.advertiser_id)
        quantum = self.ctx.state.currency_of(self.adv).quantum()
        numeric = [m for m in self.metrics if m in NUMERIC_METRICS]
        rows: list[dict[str, Any]] = []
        grand = Counts()
        for key, ads, obj in self._entities():
            attrs = self._attributes(obj)
            for label, lo, hi in self.buckets(tz):
                counts = Counts()
                for ad in ads:
                    counts.add(engine.counts(ad, lo, hi))
                if counts.is_zero():
                    continue
                grand.add(counts)
                dims = {self.id_dim: key}
                if self.time_dim:
                    dims[self.time_dim] = label or ""
                metrics = _metric_values(counts, numeric, quantum)
                metrics.update({m: attrs.get(m, "") for m in self.metrics if m not in NUMERIC_METRICS})
                rows.append({"dimensions": {d: dims[d] for d in self.dims}, "metrics": metrics})
        rows.sort(key=lambda r: (r["dimensions"].get(self.time_dim or "", ""), r["dimensions"][self.id_dim]))
        return rows, _metric_values(grand, numeric, quantum)


async def integrated_get(ctx: Ctx) -> dict[str, Any]:
    query = ReportQuery(ctx, ctx.params)
    page, size = page_args(ctx.params, default_size=10, max_size=1000)
    rows, totals = query.rows()
    page_rows, info = paginate(rows, page, size)
    data: dict[str, Any] = {"list": page_rows, "page_info": info}
    if query.total:
        data["total_metrics"] = totals
    return data


async def task_create(ctx: Ctx) -> dict[str, Any]:
    if ctx.switch("reject_unknown_fields"):
        ctx.params.reject_unknown(REPORT_FIELDS)
    query = ReportQuery(ctx, ctx.params)
    task_id = ctx.sb.ids.next()
    delay = float(ctx.switch("report_task_delay_s"))
    ctx.state.report_tasks[task_id] = ReportTask(
        task_id, query.adv.advertiser_id, dict(ctx.params.data), ctx.now, ctx.now + delay
    )
    return {"task_id": task_id}


def _task(ctx: Ctx) -> ReportTask:
    adv = ctx.advertiser()
    task_id = ctx.params.id("task_id", required=True)
    task = ctx.state.report_tasks.get(task_id or "")
    if task is None or task.advertiser_id != adv.advertiser_id:
        raise ApiError(errors.NOT_EXIST, f"task_id: Task {task_id} does not exist.")
    return task


async def task_check(ctx: Ctx) -> dict[str, Any]:
    task = _task(ctx)
    status = (
        "SUCCESS"
        if ctx.now >= task.ready_at
        else ("QUEUING" if ctx.now - task.created_at < 0.2 else "PROCESSING")
    )
    return {"task_id": task.task_id, "status": status}


async def task_download(ctx: Ctx) -> web.StreamResponse | dict[str, Any]:
    """The finished report as CSV (header row = dimensions + metrics)."""
    task = _task(ctx)
    if ctx.now < task.ready_at:
        raise ApiError(errors.TASK_NOT_READY, "The task is not finished yet.")
    query = ReportQuery(ctx, Params(task.params, strict_ids=ctx.params.strict_ids))
    rows, _ = query.rows()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*query.dims, *query.metrics])
    for row in rows:
        writer.writerow(
            [*(row["dimensions"][d] for d in query.dims), *(row["metrics"][m] for m in query.metrics)]
        )
    return web.Response(text=buf.getvalue(), content_type="text/csv")
