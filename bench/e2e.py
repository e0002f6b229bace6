"""Issue 7: end to end through the five services (one process each), three platforms, sandboxes at
50 ms per call, limits lifted where a setting can lift them (adrelay's constants still apply).

1. probe — each platform's engine alone (before the services start): the critical path of a publish
   and of its activation (`critical.py`). The end-to-end critical path is the slowest platform's
   publish chain plus the slowest activation chain (activation starts once every platform succeeded).
2. latency — publishes submitted over the orchestrator's HTTP API one every `latency_gap_s` (open
   loop, no queueing: the gap lets adrelay's fixed Meta pace of 5 calls/s per ad account refill):
   submit → `published` p50/p99 and their ratio to the critical path; where the time goes, from the
   database's own timestamps (outbox rows, the orchestrator's timeline, the runs and their steps).
3. sustained — `inflight` publishes kept in flight for `duration_s` (closed loop): publishes per
   minute; then, after the last submit, the time until every publish is finished, consumer lag of
   every consumer group is zero and no publisher run is runnable (target: within 10 s).
4. baseline — a sequential client (`baseline.py`) against the same sandboxes.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from adrelay.model import Platform
from adrelay.storage.db import Database
from bench import sandboxes
from bench.baseline import SequentialClient
from bench.calls import CallRecorder
from bench.campaigns import CampaignBank
from bench.cpu import CpuMeter
from bench.critical import ratio
from bench.engine import EngineHarness
from bench.lag import LagReader, runnable_runs
from bench.publishers import REFILL_S, fixed_pace_s, probe_publish
from bench.runtime import LATENCY_MS, PLATFORMS, BenchRuntime
from bench.stats import DISTURBANCES, LoadSampler, load, percentile, retry_db, summary_ms, table

SETTLE_TARGET_S = 10.0


@dataclass
class Options:
    latency_publishes: int = 20
    latency_gap_s: float | None = None  # None: from the probe (Meta's calls per publish / 5 per s, +20 %)
    duration_s: float = 300.0
    inflight: int = 8
    repeat: int = 2
    baseline: int = 10
    reuse_media: bool = False
    meta_accounts: int = 1  # >1: publishes spread over that many Meta ad accounts (adrelay paces per account)


async def run(rt: BenchRuntime, opts: Options) -> dict[str, Any]:
    bank = CampaignBank(rt.media_server, opts.reuse_media)
    out: dict[str, Any] = {"options": opts.__dict__, "load_before": load()}
    if opts.meta_accounts > 1:
        await rt.add_meta_accounts(opts.meta_accounts)
    os.environ.update(sandboxes.LIFTED_ENV)
    await sandboxes.set_limits(rt.urls.by_platform() if rt.urls else {}, sandboxes.LIFTED_SANDBOX)

    print("\n== end to end: probing each platform's critical path (engine alone) ==", flush=True)
    out["probe"] = await probe_all(rt, bank, opts.meta_accounts)
    cp = out["probe"]["critical_path"]
    print(
        f"critical path: publish {cp['publish_round_trips']} RTs ({cp['publish_platform']}) + activation "
        f"{cp['activation_round_trips']} RTs ({cp['activation_platform']}) = {cp['ms']:.0f} ms; as the adapters "
        f"activate today: {cp['as_implemented_ms']:.0f} ms",
        flush=True,
    )
    gap = opts.latency_gap_s if opts.latency_gap_s is not None else out["probe"]["pace_s"]

    print("== starting the five services ==", flush=True)
    rt.start_services({**sandboxes.LIFTED_ENV, "ADRELAY_LOG_LEVEL": "INFO"})
    reader = Database(rt.database_url, max_size=3)
    lag = LagReader(rt.bootstrap, rt.prefix)
    await lag.start()
    orchestrator = rt.services["orchestrator"].url
    try:
        async with httpx.AsyncClient(base_url=orchestrator, timeout=30) as api:
            client = Client(api, reader, rt.targets)
            warm = bank.make(1)[0]
            first = await client.submit(warm)
            await client.wait([first], timeout=120)
            out["first_publish_ms"] = round(
                (await client.finished([first]))[first][1] * 1000 - client.submitted[first] * 1000, 1
            )

            print(f"== latency: {opts.latency_publishes} publishes, one every {gap:.1f} s ==", flush=True)
            out["latency"] = await latency_phase(client, bank, opts.latency_publishes, gap, cp["ms"])
            lat = out["latency"]
            print(
                f"latency: p50 {lat['p50_ms']:.0f} ms ({lat['p50_over_critical_path']:.2f}x CP), p99 {lat['p99_ms']:.0f} ms "
                f"({lat['p99_over_critical_path']:.2f}x CP), statuses {lat['statuses']}",
                flush=True,
            )
            out["sustained"] = []
            for i in range(opts.repeat):
                print(
                    f"== sustained #{i + 1}: {opts.inflight} in flight for {opts.duration_s:.0f} s (load {load()}) ==",
                    flush=True,
                )
                meter = CpuMeter(
                    {
                        name: proc.proc.pid
                        for name, proc in rt.all_processes().items()
                        if proc.proc is not None
                    },
                    rt.database_name,
                )
                row = await sustained_phase(client, bank, lag, reader, opts, cp["ms"], meter)
                out["sustained"].append(row)
                print(
                    f"sustained #{i + 1}: {row['publishes_per_min']:.1f} publishes/min, p50 {row['p50_ms']:.0f} ms, "
                    f"p99 {row['p99_ms']:.0f} ms; after the load: all finished {row['settle']['all_finished_s']} s, "
                    f"lag 0 after {row['settle']['lag_zero_s']} s, runnable 0 after {row['settle']['runnable_zero_s']} s "
                    f"(load {row['load1_mean']})",
                    flush=True,
                )
        out["service_metrics"] = service_metrics(rt)
    finally:
        await lag.stop()
        await reader.close()
        rt.stop_services()

    print(f"== baseline: {opts.baseline} sequential publishes, one every {gap:.1f} s ==", flush=True)
    out["baseline"] = await baseline_phase(rt, bank, opts.baseline, gap)
    b = out["baseline"]
    print(
        f"baseline: p50 {b['p50_ms']:.0f} ms, p99 {b['p99_ms']:.0f} ms, {b['publishes_per_min']:.1f} publishes/min",
        flush=True,
    )
    out["speedup"] = {
        "latency_p50": round(b["p50_ms"] / out["latency"]["p50_ms"], 2),
        "throughput": [round(s["publishes_per_min"] / b["publishes_per_min"], 2) for s in out["sustained"]],
    }
    out["load_after"] = load()
    out["disturbances"] = list(DISTURBANCES)
    return out


# ---- probe --------------------------------------------------------------------------------------------
async def probe_all(rt: BenchRuntime, bank: CampaignBank, meta_accounts: int = 1) -> dict[str, Any]:
    targets = {t["platform"]: t for t in rt.targets()}
    per: dict[str, Any] = {}
    for name in PLATFORMS:
        recorder = CallRecorder()
        harness = EngineHarness(rt.database_url, Platform(name), targets[name], recorder)
        await harness.start()
        try:
            per[name] = await probe_publish(
                harness, recorder, bank.make(1)[0], rt.sandbox(name), REFILL_S.get(name, 1.0)
            )
        finally:
            await harness.stop()
    publish_platform = max(per, key=lambda p: per[p]["critical_path"]["round_trips"])
    activation_platform = max(per, key=lambda p: per[p]["activation"]["round_trips"])
    implemented_platform = max(per, key=lambda p: per[p]["activation"]["as_implemented_round_trips"])
    publish_rt = per[publish_platform]["critical_path"]["round_trips"]
    activation_rt = per[activation_platform]["activation"]["round_trips"]
    implemented_rt = per[implemented_platform]["activation"]["as_implemented_round_trips"]
    calls = {p: per[p]["critical_path"]["calls"] + per[p]["activation"]["calls"] for p in per}
    # A publish with its activation, at adrelay's constant limits (activation calls are not /ad/create/).
    paces = {
        p: fixed_pace_s(p, per[p]["calls_by_endpoint"], meta_accounts)
        * (calls[p] / per[p]["critical_path"]["calls"] if p != "tiktok" else 1.0)
        for p in per
    }
    pace = max(paces.values()) * 1.2
    return {
        "platforms": per,
        "calls_per_publish_with_activation": calls,
        "pace_s": round(pace, 2),
        "fixed_pace_s_per_publish": {p: round(v, 2) for p, v in paces.items()},
        "critical_path": {
            "publish_platform": publish_platform,
            "publish_round_trips": publish_rt,
            "activation_platform": activation_platform,
            "activation_round_trips": activation_rt,
            "round_trips": publish_rt + activation_rt,
            "ms": (publish_rt + activation_rt) * LATENCY_MS,
            "as_implemented_round_trips": publish_rt + implemented_rt,
            "as_implemented_ms": (publish_rt + implemented_rt) * LATENCY_MS,
        },
    }


# ---- the client ---------------------------------------------------------------------------------------
class Client:
    """Submits over the orchestrator's HTTP API; reads completion from the orchestrator's table."""

    def __init__(
        self, api: httpx.AsyncClient, db: Database, targets: Callable[[int], list[dict[str, Any]]]
    ) -> None:
        self.api = api
        self.db = db
        self.targets = targets
        self.submitted: dict[str, float] = {}
        self.campaign_of: dict[str, str] = {}

    async def submit(self, campaign: dict[str, Any]) -> str:
        targets = self.targets(len(self.submitted))
        body = {"idempotency_key": f"bench-{uuid.uuid4().hex}", "campaign": campaign, "targets": targets}
        at = time.time()
        response = await self.api.post("/publishes", json=body)
        if response.status_code not in (200, 202):
            raise RuntimeError(f"submit refused: {response.status_code} {response.text[:300]}")
        publish_id = str(response.json()["publish_id"])
        self.submitted[publish_id] = at
        self.campaign_of[publish_id] = campaign["id"]
        return publish_id

    async def finished(self, publish_ids: list[str]) -> dict[str, tuple[str, float]]:
        """(status, finished at) of the finished ones among `publish_ids`."""
        return await retry_db(lambda: self._finished(publish_ids), "publish states")

    async def _finished(self, publish_ids: list[str]) -> dict[str, tuple[str, float]]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(
                """
                select publish_id, status, extract(epoch from finished_at) as finished
                from publishes where publish_id = any($1::text[]) and finished_at is not null
                """,
                publish_ids,
            )
        return {r["publish_id"]: (r["status"], float(r["finished"])) for r in rows}

    async def wait(self, publish_ids: list[str], timeout: float = 300) -> dict[str, tuple[str, float]]:
        deadline = time.monotonic() + timeout
        while True:
            done = await self.finished(publish_ids)
            if len(done) == len(publish_ids):
                return done
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(publish_ids) - len(done)} publishes not finished in {timeout}s")
            await asyncio.sleep(0.2)


# ---- phases -------------------------------------------------------------------------------------------
async def latency_phase(
    client: Client, bank: CampaignBank, count: int, gap_s: float, cp_ms: float
) -> dict[str, Any]:
    campaigns = bank.make(count)
    sampler = LoadSampler()
    ids: list[str] = []
    for campaign in campaigns:
        ids.append(await client.submit(campaign))
        sampler.sample()
        await asyncio.sleep(gap_s)
    done = await client.wait(ids, timeout=300)
    latencies = [done[p][1] - client.submitted[p] for p in ids]
    out: dict[str, Any] = {
        "n": len(ids),
        "gap_s": round(gap_s, 2),
        "statuses": dict(Counter(done[p][0] for p in ids)),
        **summary_ms(latencies),
        **sampler.result(),
    }
    out["p50_over_critical_path"] = ratio(out["p50_ms"], cp_ms)
    out["p99_over_critical_path"] = ratio(out["p99_ms"], cp_ms)
    out["where_time_goes_ms"] = await breakdown(client, ids)
    out["outbox_relay_ms"] = await relay_latency(client, ids)
    return out


async def sustained_phase(
    client: Client,
    bank: CampaignBank,
    lag: LagReader,
    db: Database,
    opts: Options,
    cp_ms: float,
    meter: CpuMeter | None = None,
) -> dict[str, Any]:
    per_publish_s = 1.0  # at most one publish a second (adrelay's Meta pace allows one per 4.4 s)
    campaigns = bank.make(int(opts.duration_s / per_publish_s) + opts.inflight * 2)
    sampler = LoadSampler()
    ids: list[str] = []
    open_ids: set[str] = set()
    lag_max = 0
    lag_samples: list[int] = []
    started = time.time()
    stop_at = time.monotonic() + opts.duration_s
    next_lag = 0.0
    if meter is not None:
        meter.begin()
    while time.monotonic() < stop_at:
        if open_ids:
            done = await client.finished(list(open_ids))
            open_ids -= set(done)
        while len(open_ids) < opts.inflight and campaigns:
            publish_id = await client.submit(campaigns.pop())
            ids.append(publish_id)
            open_ids.add(publish_id)
        if time.monotonic() >= next_lag:
            sampler.sample()
            total = sum((await lag.read()).values())
            lag_samples.append(total)
            lag_max = max(lag_max, total)
            next_lag = time.monotonic() + 2.0
        await asyncio.sleep(0.1)
    cpu = meter.end() if meter is not None else {}
    last_submit = max(client.submitted[p] for p in ids)
    settle = await settle_after(client, lag, db, ids, last_submit)
    done = await client.finished(ids)
    ended = started + opts.duration_s
    in_window = [p for p in ids if p in done and done[p][1] <= ended]
    latencies = [done[p][1] - client.submitted[p] for p in ids if p in done]
    per_minute = Counter(int((done[p][1] - started) // 60) for p in ids if p in done and done[p][1] <= ended)
    out: dict[str, Any] = {
        "duration_s": opts.duration_s,
        "inflight": opts.inflight,
        "submitted": len(ids),
        "finished_in_window": len(in_window),
        "publishes_per_min": round(len(in_window) / (opts.duration_s / 60.0), 2),
        "per_minute": [per_minute.get(i, 0) for i in range(math.ceil(opts.duration_s / 60))],
        "statuses": dict(Counter(done[p][0] for p in ids if p in done)),
        "lag_max_during_load": lag_max,
        "lag_p50_during_load": percentile([float(x) for x in lag_samples], 50),
        "settle": settle,
        "cpu_pct_of_one_core": cpu,
        **summary_ms(latencies),
        **sampler.result(),
    }
    out["p50_over_critical_path"] = ratio(out["p50_ms"], cp_ms)
    return out


async def settle_after(
    client: Client, lag: LagReader, db: Database, ids: list[str], last_submit: float, limit_s: float = 120.0
) -> dict[str, Any]:
    """After the last submit: when every publish is finished, when every consumer group's lag is zero,
    when no publisher run is runnable (or unfinished). Seconds are measured from the last publish's
    finish ("after the load") and, in brackets, from the last submit."""
    seen: dict[str, float | None] = {
        "all_finished": None,
        "lag_zero": None,
        "runnable_zero": None,
        "unfinished_zero": None,
    }
    lag_at_end: dict[str, int] = {}
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        now = time.time()
        done = await client.finished(ids)
        if seen["all_finished"] is None and len(done) == len(ids):
            seen["all_finished"] = max(d[1] for d in done.values())
        lag_at_end = await lag.read()
        if seen["all_finished"] is not None and seen["lag_zero"] is None and sum(lag_at_end.values()) == 0:
            seen["lag_zero"] = now
        runnable, unfinished = await retry_db(lambda: runnable_runs(db), "runnable runs")
        if seen["all_finished"] is not None and seen["runnable_zero"] is None and runnable == 0:
            seen["runnable_zero"] = now
        if seen["all_finished"] is not None and seen["unfinished_zero"] is None and unfinished == 0:
            seen["unfinished_zero"] = now
        if all(v is not None for v in seen.values()):
            break
        await asyncio.sleep(0.25)
    end = seen["all_finished"]

    def since(key: str) -> float | None:
        value = seen[key]
        return None if value is None or end is None else round(max(value - end, 0.0), 2)

    return {
        "all_finished_s": None if end is None else round(end - last_submit, 2),
        "lag_zero_s": since("lag_zero"),
        "runnable_zero_s": since("runnable_zero"),
        "unfinished_zero_s": since("unfinished_zero"),
        "lag_zero_after_last_submit_s": None
        if seen["lag_zero"] is None
        else round(seen["lag_zero"] - last_submit, 2),
        "lag_by_group_at_end": lag_at_end,
        "within_target": all(
            v is not None and v <= SETTLE_TARGET_S for v in (since("lag_zero"), since("runnable_zero"))
        ),
    }


async def baseline_phase(rt: BenchRuntime, bank: CampaignBank, count: int, gap_s: float) -> dict[str, Any]:
    client = SequentialClient(rt.database_url, rt.connection_ids)
    campaigns = bank.make(count)
    sampler = LoadSampler()
    parts: list[dict[str, float]] = []
    try:
        for i, campaign in enumerate(campaigns):
            begun = time.monotonic()
            parts.append(await client.publish(campaign, rt.targets(i)))
            sampler.sample()
            rest = gap_s - (time.monotonic() - begun)
            if rest > 0:
                await asyncio.sleep(rest)
    finally:
        await client.close()
    totals = [p["total"] for p in parts]
    out: dict[str, Any] = {"n": len(parts), **summary_ms(totals), **sampler.result()}
    out["publishes_per_min"] = round(60.0 / (sum(totals) / len(totals)), 2)
    out["parts_ms_p50"] = {k: round(percentile([p[k] * 1000 for p in parts], 50), 1) for k in parts[0]}
    return out


# ---- where the time goes ----------------------------------------------------------------------------
BREAKDOWN_SQL = """
with p as (select publish_id, campaign_id, extract(epoch from finished_at) as finished
           from publishes where publish_id = any($1::text[]))
select p.publish_id, p.finished,
  (select jsonb_object_agg(kind || coalesce(':' || platform, ''), extract(epoch from at)) from (
      select kind, platform, min(at) as at from publish_timeline t where t.publish_id = p.publish_id
      and kind in ('received', 'fanned_out', 'succeeded', 'activate_requested', 'activated')
      group by kind, platform) x) as timeline,
  (select jsonb_object_agg(producer || '/' || event_type, jsonb_build_array(extract(epoch from c), extract(epoch from pub)))
     from (select producer, event_type, min(created_at) as c, max(published_at) as pub from outbox o
           where o.message_key = convert_to(p.campaign_id, 'UTF8')
             and event_type in ('PublishCampaign', 'CampaignPublishRequested', 'PlatformPublishSucceeded',
                                'ActivateRequested', 'PlatformActivated')
           group by producer, event_type) y) as outbox,
  (select jsonb_object_agg(platform, extract(epoch from created_at)) from publisher_runs r
     where r.publish_id = p.publish_id) as runs,
  (select jsonb_object_agg(platform, jsonb_build_array(extract(epoch from s0), extract(epoch from s1))) from (
      select platform, min(started_at) as s0, max(finished_at) as s1 from publish_steps s
      where s.publish_id = p.publish_id group by platform) z) as steps
from p
"""


async def breakdown(client: Client, ids: list[str]) -> dict[str, float]:
    """Median seconds of each stage of a publish (the slowest platform where stages run per platform)."""
    async with client.db.connection() as conn:
        rows = await conn.fetch(BREAKDOWN_SQL, ids)

    stages: list[dict[str, float]] = []
    for row in rows:
        tl = orjson.loads(row["timeline"] or "{}")
        ob = orjson.loads(row["outbox"] or "{}")
        runs = orjson.loads(row["runs"] or "{}")
        steps = orjson.loads(row["steps"] or "{}")
        try:
            submit = client.submitted[row["publish_id"]]
            command = ob["orchestrator/PublishCampaign"]
            request = ob["orchestrator/CampaignPublishRequested"]
            succeeded = {p: ob[f"{p}-publisher/PlatformPublishSucceeded"][0] for p in PLATFORMS}
            activated = {p: ob[f"{p}-publisher/PlatformActivated"][0] for p in PLATFORMS}
            activate_req = ob["orchestrator/ActivateRequested"]
            last_ok = max(tl[f"succeeded:{p}"] for p in PLATFORMS)
            slowest = max(PLATFORMS, key=lambda p: succeeded[p])
            stage = {
                "api_to_relayed": command[1] - submit,
                "command_to_orchestrator": tl["received"] - command[1],
                "validation_and_fanout": tl["fanned_out"] - tl["received"],
                "fanout_relayed": request[1] - tl["fanned_out"],
                "request_to_publisher_runs": max(runs.values()) - request[1],
                "run_claim_to_first_step": steps[slowest][0] - runs[slowest],
                "engine_steps_slowest": steps[slowest][1] - steps[slowest][0],
                "last_step_to_succeeded_event": succeeded[slowest] - steps[slowest][1],
                "succeeded_event_to_orchestrator": last_ok - succeeded[slowest],
                "activate_requested_relayed": activate_req[1] - tl[f"activate_requested:{slowest}"],
                "activation_at_publishers": max(activated.values()) - activate_req[1],
                "activated_event_to_orchestrator": max(tl[f"activated:{p}"] for p in PLATFORMS)
                - max(activated.values()),
                "to_published": float(row["finished"]) - max(tl[f"activated:{p}"] for p in PLATFORMS),
                "total": float(row["finished"]) - submit,
            }
            for p in PLATFORMS:
                stage[f"engine_{p}"] = succeeded[p] - runs[p]
                stage[f"activation_{p}"] = activated[p] - activate_req[1]
        except (KeyError, TypeError, ValueError):
            continue
        stages.append(stage)
    if not stages:
        return {}
    return {k: round(percentile([s[k] * 1000 for s in stages], 50), 1) for k in stages[0]}


RELAY_SQL = """
select o.producer, o.event_type, extract(epoch from o.published_at - o.created_at) as seconds
from outbox o join publishes p on o.message_key = convert_to(p.campaign_id, 'UTF8')
where p.publish_id = any($1::text[]) and o.published_at is not null
"""


async def relay_latency(client: Client, ids: list[str]) -> dict[str, Any]:
    """Outbox row written → relayed to Kafka, per producer (p50/p99 ms), and the events one publish
    makes (progress heartbeats included), as counted in the outbox."""
    async with client.db.connection() as conn:
        rows = await conn.fetch(RELAY_SQL, ids)
    by_producer: dict[str, list[float]] = {}
    events: Counter[str] = Counter()
    for r in rows:
        by_producer.setdefault(r["producer"], []).append(float(r["seconds"]) * 1000)
        events[f"{r['producer']}/{r['event_type']}"] += 1
    return {
        "by_producer": {
            p: {"p50": round(percentile(v, 50), 1), "p99": round(percentile(v, 99), 1), "n": len(v)}
            for p, v in sorted(by_producer.items())
        },
        "events_per_publish": {k: round(v / max(len(ids), 1), 1) for k, v in sorted(events.items())},
    }


def service_metrics(rt: BenchRuntime) -> dict[str, Any]:
    """A few of the services' own Prometheus series at the end (cumulative over the run)."""
    out: dict[str, Any] = {}
    for name, proc in rt.services.items():
        try:
            out[name] = {
                "rate_limit_wait_s": round(proc.metric("adrelay_rate_limit_wait_seconds_total"), 2),
                "platform_calls": proc.metric("adrelay_platform_calls_total"),
                "runnable_runs_gauge": proc.metric("adrelay_runnable_runs"),
            }
        except Exception as exc:  # a service that cannot answer is reported, not fatal
            out[name] = {"error": repr(exc)}
    return out


# ---- report ---------------------------------------------------------------------------------------
def markdown(data: dict[str, Any]) -> str:
    cp = data["probe"]["critical_path"]
    lat = data["latency"]
    text = ["# Issue 7 — end to end (five services, sandboxes at 50 ms per call)", ""]
    text.append(f"Load before: {data['load_before']}; after: {data['load_after']}")
    if data.get("disturbances"):
        text.append(f"\nDISTURBED — the database was unreachable at times: {data['disturbances']}")
    text += ["", "## Critical path", ""]
    per = data["probe"]["platforms"]
    text.append(
        table(
            [
                "platform",
                "publish RTs",
                "path",
                "activation RTs (by dependency)",
                "activation RTs as implemented",
                "calls incl. activation",
            ],
            [
                [
                    p,
                    per[p]["critical_path"]["round_trips"],
                    per[p]["critical_path"]["path"],
                    per[p]["activation"]["round_trips"],
                    per[p]["activation"]["as_implemented_round_trips"],
                    data["probe"]["calls_per_publish_with_activation"][p],
                ]
                for p in per
            ],
        )
    )
    text.append(
        f"\nEnd-to-end critical path: {cp['publish_round_trips']} ({cp['publish_platform']}) + "
        f"{cp['activation_round_trips']} ({cp['activation_platform']} activation) = {cp['round_trips']} round trips "
        f"= {cp['ms']:.0f} ms (with activation as implemented: {cp['as_implemented_ms']:.0f} ms)."
    )
    text += ["", "## Latency (submit → published)", ""]
    rows = [
        [
            f"latency (one every {lat['gap_s']} s)",
            lat["n"],
            lat["p50_ms"],
            lat["p99_ms"],
            f"{cp['ms']:.0f}",
            lat["p50_over_critical_path"],
            lat["p99_over_critical_path"],
            "yes" if lat["p50_over_critical_path"] <= 1.3 and lat["p99_over_critical_path"] <= 2 else "no",
        ]
    ]
    for i, s in enumerate(data["sustained"]):
        rows.append(
            [
                f"sustained #{i + 1} ({s['inflight']} in flight)",
                s["n"],
                s["p50_ms"],
                s["p99_ms"],
                f"{cp['ms']:.0f}",
                s["p50_over_critical_path"],
                ratio(s["p99_ms"], cp["ms"]),
                "-",
            ]
        )
    b = data["baseline"]
    rows.append(
        [
            "baseline (sequential)",
            b["n"],
            b["p50_ms"],
            b["p99_ms"],
            f"{cp['ms']:.0f}",
            ratio(b["p50_ms"], cp["ms"]),
            ratio(b["p99_ms"], cp["ms"]),
            "-",
        ]
    )
    text.append(
        table(
            [
                "run",
                "n",
                "p50 ms",
                "p99 ms",
                "critical path ms",
                "p50 / CP",
                "p99 / CP",
                "p50 ≤ 1.3, p99 ≤ 2",
            ],
            rows,
        )
    )
    text.append(f"\nFirst publish after start (cold caches): {data.get('first_publish_ms')} ms.")
    text += ["", "## Sustained load", ""]
    srows = []
    for i, s in enumerate(data["sustained"]):
        st = s["settle"]
        srows.append(
            [
                f"#{i + 1}",
                f"{s['duration_s']:.0f} s",
                s["publishes_per_min"],
                " ".join(str(x) for x in s["per_minute"]),
                s["statuses"],
                s["lag_max_during_load"],
                st["all_finished_s"],
                st["lag_zero_s"],
                st["runnable_zero_s"],
                "yes" if st["within_target"] else "no",
                s["load1_mean"],
            ]
        )
    srows.append(
        ["baseline", "-", b["publishes_per_min"], "-", "-", "-", "-", "-", "-", "-", b["load1_mean"]]
    )
    text.append(
        table(
            [
                "run",
                "duration",
                "publishes/min",
                "per minute",
                "statuses",
                "max lag",
                "finished after last submit s",
                "lag 0 after s",
                "runnable 0 after s",
                "≤ 10 s",
                "load1",
            ],
            srows,
        )
    )
    for i, s in enumerate(data["sustained"]):
        text.append(
            f"\nCPU during sustained #{i + 1} (% of one core; the machine has 2): {s.get('cpu_pct_of_one_core')}"
        )
    sp = data["speedup"]
    text.append(
        f"\nSpeed-up over the baseline: latency p50 x{sp['latency_p50']}, throughput x{sp['throughput']}."
    )
    text += ["", "## Where a publish's time goes (latency phase, median ms)", ""]
    text.append(table(["stage", "ms"], [[k, v] for k, v in lat["where_time_goes_ms"].items()]))
    relay = lat.get("outbox_relay_ms", {})
    text += ["", "## Outbox relay (row written → sent to Kafka), latency phase", ""]
    text.append(
        table(
            ["producer", "p50 ms", "p99 ms", "rows"],
            [[p, v["p50"], v["p99"], v["n"]] for p, v in relay.get("by_producer", {}).items()],
        )
    )
    text.append(f"\nEvents per publish: {relay.get('events_per_publish', {})}")
    text += ["", f"Baseline parts (median ms): {b['parts_ms_p50']}"]
    return "\n".join(text) + "\n"
