"""Issue 6: each platform's publishing engine alone, its sandbox at 50 ms per call.

Why the engine alone (`build_engine`, in this process) rather than the publisher services: the
publisher is exactly this engine plus a Kafka agent whose only work is one transaction recording the
run (the same `Journal.enqueue` the bench calls). Driving the engine directly measures what issue 6
owns — step graph, journal, limiter, adapter — without the broker and orchestrator hops that issue 7's
end-to-end benchmark measures; and it lets the bench see inside: every call with its step and its time
in the rate limiter, every journal operation and database query, and the answer bodies (TikTok's
throttle code 40100 travels in an HTTP 200 body that the sandbox's request log does not keep).

Per platform:
1. rate — first, while the sandbox's fixed windows have seen no other calls: the sandbox at its
   platform's published limits (Meta's window shortened to 300 calls / 60 s = adrelay's own 5/s),
   adrelay's settings matching, `rate_inflight` publishes kept queued for `rate_seconds`: calls/s on
   the binding limit in the steady window vs the limit, and throttle answers (zero is the target).
2. probe — one publish alone (limits lifted), then its activation: calls per step (checked against
   the sandbox request log) and the critical path (`critical.py`).
3. serial — publishes one at a time, each started no sooner than the platform's fixed pace in adrelay
   allows (+25 %; Meta 5 calls/s per ad account, Snapchat 20 calls/s per app), limits otherwise
   lifted: p50/p99 publish time and p50 / critical path; where the time goes along the critical chain,
   database queries and journal operations per publish.
4. burst — N publishes enqueued at once, limits lifted (adrelay's fixed ones still apply):
   publishes/s, p50/p99.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from adrelay.model import Campaign, Platform
from adrelay.platforms.base import Step
from adrelay.platforms.meta.limits import ACCOUNT_BURST, ACCOUNT_RATE_PER_S
from adrelay.platforms.snapchat.limits import APP_RPS
from adrelay.platforms.tiktok.limits import ENDPOINT_QPM
from bench import sandboxes
from bench.calls import Call, CallRecorder
from bench.campaigns import CampaignBank, tree_objects
from bench.critical import activation_path, observed_depth, publish_critical_path, ratio, to_json
from bench.dbprobe import DbProbe
from bench.engine import EngineHarness
from bench.runtime import LATENCY_MS, BenchRuntime
from bench.stats import DISTURBANCES, LoadSampler, load, percentile, summary_ms, table

# adrelay's own limits that no setting lifts: calls per second a serial publish must not outrun.
TIKTOK_AD_CREATE_PER_S = ENDPOINT_QPM["/ad/create/"] / 60.0
# Seconds for adrelay's fixed buckets to fill up again (Meta: burst 20 at 5/s; TikTok: a publish's
# four ad creates at 2.5/s).
REFILL_S = {"meta": ACCOUNT_BURST / ACCOUNT_RATE_PER_S, "tiktok": 2.0, "snapchat": 1.0}


def fixed_pace_s(platform: str, calls_by_endpoint: dict[str, int], accounts: int = 1) -> float:
    """Seconds per publish that adrelay's own constant limits impose on one account (no setting lifts
    them): Meta 5 calls/s per ad account, Snapchat 20 calls/s per app, TikTok /ad/create/ 150 QPM."""
    calls = sum(calls_by_endpoint.values())
    if platform == "meta":
        return calls / (ACCOUNT_RATE_PER_S * max(accounts, 1))
    if platform == "snapchat":
        return calls / APP_RPS
    if platform == "tiktok":
        creates = sum(n for endpoint, n in calls_by_endpoint.items() if endpoint.endswith("/ad/create/"))
        return creates / TIKTOK_AD_CREATE_PER_S
    return 0.0


@dataclass
class Options:
    platforms: list[str] = field(default_factory=lambda: ["meta", "tiktok", "snapchat"])
    serial: int = 10
    burst: int = 30
    rate_seconds: float = 90.0
    rate_inflight: int = 12
    reuse_media: bool = False


@dataclass
class Binding:
    """The limit that binds in the rate phase and how to count the calls against it."""

    name: str
    per_s: float
    path_suffix: str | None = None  # None: every call of the platform counts


BINDING = {
    # adrelay holds every Meta call to 5/s per ad account; the sandbox's window matches (300 / 60 s).
    "meta": Binding("ad account: 300 calls / 60 s (adrelay: 5/s, burst 20)", 5.0),
    # /ad/create/ 150 QPM binds before the app's 10 QPS with four ads per publish.
    "tiktok": Binding("/ad/create/: 5 QPS, 150 QPM (adrelay: 2.5/s, burst 5)", 2.5, "/ad/create/"),
    # 10 calls/s per access token binds before 20/s per app.
    "snapchat": Binding("access token: 10 calls/s (adrelay: 10/s, burst 1)", 10.0),
}
APP_LIMIT = {"tiktok": ("app: 10 QPS / 600 QPM", 10.0)}


async def run(rt: BenchRuntime, opts: Options) -> dict[str, Any]:
    bank = CampaignBank(rt.media_server, opts.reuse_media)
    targets = {t["platform"]: t for t in rt.targets()}
    results: dict[str, Any] = {"options": opts.__dict__, "load_before": load(), "platforms": {}}
    for name in opts.platforms:
        print(f"\n== {name}: engine alone, sandbox at {LATENCY_MS} ms per call ==", flush=True)
        results["platforms"][name] = await bench_platform(rt, Platform(name), targets[name], bank, opts)
    results["load_after"] = load()
    results["disturbances"] = list(DISTURBANCES)
    return results


async def bench_platform(
    rt: BenchRuntime, platform: Platform, target: dict[str, Any], bank: CampaignBank, opts: Options
) -> dict[str, Any]:
    name = platform.value
    url = rt.sandbox(name)
    out: dict[str, Any] = {}

    # ---- at the platform's limits (first: the sandbox's fixed windows have seen no other calls) -----
    if opts.rate_seconds > 0:
        os.environ.update(sandboxes.PLATFORM_ENV)
        await sandboxes.configure(url, {"rate_limits": sandboxes.PLATFORM_SANDBOX[name]})
        recorder, probe = CallRecorder(), DbProbe()
        harness = EngineHarness(rt.database_url, platform, target, recorder, probe)
        await harness.start()
        try:
            out["rate"] = await at_rate_limit(harness, recorder, bank, url, opts)
        finally:
            await harness.stop()
        r = out["rate"]
        print(
            f"rate: {r['binding']}: {r['steady_per_s']:.2f}/s = {r['share_of_limit_pct']:.1f} % of the limit; "
            f"throttles {r['throttles_client']} (client-seen), {r['throttles_log']} (request log); "
            f"{r['publishes_per_s']:.2f} publishes/s",
            flush=True,
        )

    # ---- limits lifted: probe, serial, burst -----------------------------------------------------
    os.environ.update(sandboxes.LIFTED_ENV)
    await sandboxes.configure(url, {"rate_limits": sandboxes.LIFTED_SANDBOX[name]})
    recorder, probe = CallRecorder(), DbProbe()
    harness = EngineHarness(rt.database_url, platform, target, recorder, probe)
    await harness.start()
    # adrelay's buckets as a fresh deployment has them (the rate phase emptied them): with the lifted
    # settings TikTok's /ad/create/ bucket then holds ADRELAY_TIKTOK_AD_CREATE_QPS tokens (its burst)
    # and its 150 QPM refill no longer binds a short run; Meta's and Snapchat's constants still do.
    await harness.reset_limiter()
    try:
        out["probe"] = await probe_publish(harness, recorder, bank.make(1)[0], url, REFILL_S.get(name, 1.0))
        cp_ms = out["probe"]["critical_path"]["ms"]
        calls = out["probe"]["critical_path"]["calls"]
        print(
            f"critical path {out['probe']['critical_path']['round_trips']} round trips = {cp_ms:.0f} ms "
            f"({out['probe']['critical_path']['path']}); {calls} calls per publish",
            flush=True,
        )
        # Serial publishes start no faster than adrelay's fixed limits refill (+25 %), after a pause that
        # lets the limiter's buckets fill up: the rows then show the engine, not the limiter's queue.
        pace = fixed_pace_s(name, out["probe"]["calls_by_endpoint"]) * 1.25
        await asyncio.sleep(REFILL_S.get(name, 1.0))
        out["serial"] = await serial(harness, recorder, probe, bank.make(opts.serial), pace, cp_ms)
        print(_row_text("serial", out["serial"], cp_ms), flush=True)
        await asyncio.sleep(REFILL_S.get(name, 1.0))
        out["burst"] = await burst(harness, bank.make(opts.burst), cp_ms)
        print(_row_text("burst", out["burst"], cp_ms), flush=True)
    finally:
        await harness.stop()
    return out


# ---- phases ------------------------------------------------------------------------------------------
async def probe_publish(
    harness: EngineHarness, recorder: CallRecorder, campaign: dict[str, Any], url: str, refill_s: float = 0.0
) -> dict[str, Any]:
    """One publish alone, then its activation, each after `refill_s` (adrelay's buckets full again, so
    that no call waits in the limiter and the observed depths show the adapter's own order)."""
    assert harness.engine is not None
    await asyncio.sleep(refill_s)
    before = await sandboxes.mark(url)
    publish_id = await harness.enqueue(campaign)
    state = (await harness.wait([publish_id]))[publish_id]
    calls = recorder.of(publish_id)
    limiter_s = sum(c.limiter_seconds for c in calls)
    plan = harness.engine.workflows.adapter.plan(Campaign.model_validate(campaign))
    path = publish_critical_path(plan, calls)
    logged = sandboxes.platform_calls(await sandboxes.log_since(url, before))
    timing = (await harness.timings([publish_id]))[publish_id]
    await asyncio.sleep(refill_s)
    after_publish = await sandboxes.mark(url)
    await harness.activate(publish_id, campaign["id"])
    active = (await harness.wait([publish_id], ("active", "activation_failed")))[publish_id]
    activation = activation_path(recorder.of(publish_id, "activate"), tree_objects(campaign))
    logged_activation = sandboxes.platform_calls(await sandboxes.log_since(url, after_publish))
    return {
        "state": state,
        "activation_state": active,
        "critical_path": to_json(path, LATENCY_MS),
        "observed_sequential_depth": observed_depth([c for c in calls if c.phase != "activate"]),
        "calls_recorded": len([c for c in calls if c.phase != "activate"]),
        "calls_in_request_log": len(logged),
        "calls_by_endpoint": dict(Counter(f"{r['method']} {_generic(r['path'])}" for r in logged)),
        "activation": to_json(activation, LATENCY_MS),
        "activation_calls_in_request_log": len(logged_activation),
        "publish_ms_alone": round((timing[1] - timing[0]) * 1000, 1),
        "limiter_ms_total": round(limiter_s * 1000, 1),
    }


async def serial(
    harness: EngineHarness,
    recorder: CallRecorder,
    probe: DbProbe,
    campaigns: list[dict[str, Any]],
    pace_s: float,
    cp_ms: float,
) -> dict[str, Any]:
    assert harness.engine is not None
    recorder.clear()
    probe.clear()
    sampler = LoadSampler()
    ids: list[str] = []
    started = time.monotonic()
    for campaign in campaigns:
        begun = time.monotonic()
        publish_id = await harness.enqueue(campaign)
        ids.append(publish_id)
        await harness.wait([publish_id])
        sampler.sample()
        rest = pace_s - (time.monotonic() - begun)
        if rest > 0:
            await asyncio.sleep(rest)
    timings = await harness.timings(ids)
    latencies = [t[1] - t[0] for t in timings.values()]
    out: dict[str, Any] = {
        "n": len(ids),
        "pace_s": round(pace_s, 2),
        "wall_s": round(time.monotonic() - started, 2),
        "failed": sum(1 for t in timings.values() if t[2] != "succeeded"),
        **summary_ms(latencies),
        **sampler.result(),
    }
    out["p50_over_critical_path"] = ratio(out["p50_ms"], cp_ms)
    out["p99_over_critical_path"] = ratio(out["p99_ms"], cp_ms)
    plan_of = {c["id"]: harness.engine.workflows.adapter.plan(Campaign.model_validate(c)) for c in campaigns}
    campaign_of = dict(zip(ids, (c["id"] for c in campaigns), strict=True))
    parts = [
        decompose(plan_of[campaign_of[p]], recorder.of(p), timings[p][0], timings[p][1])
        for p in ids
        if timings[p][2] == "succeeded"
    ]
    out["where_time_goes_ms"] = _median_parts(parts)
    queries = [probe.between(timings[p][0], timings[p][1]) for p in ids]
    out["db_per_publish"] = {
        "queries": percentile([float(q[0]) for q in queries], 50),
        "query_ms": round(percentile([q[1] * 1000 for q in queries], 50), 1),
        "journal_ops": {k: round(v / len(ids), 1) for k, v in sorted(probe.op_count.items())},
        "journal_op_mean_ms": {
            k: round(1000 * probe.op_seconds[k] / n, 2) for k, n in sorted(probe.op_count.items()) if n
        },
        "pool_acquires": round(probe.acquires / len(ids), 1),
    }
    calls = [c for c in recorder.calls if c.phase in {"create", "ready"}]
    out["call_ms_p50"] = round(percentile([c.seconds * 1000 for c in calls], 50), 1)
    out["limiter_ms_p50"] = round(percentile([c.limiter_seconds * 1000 for c in calls], 50), 1)
    return out


async def burst(harness: EngineHarness, campaigns: list[dict[str, Any]], cp_ms: float) -> dict[str, Any]:
    sampler = LoadSampler()
    started = time.monotonic()
    ids = await asyncio.gather(*(harness.enqueue(c) for c in campaigns))
    waiter = asyncio.create_task(harness.wait(list(ids), timeout=900))
    while not waiter.done():
        sampler.sample()
        await asyncio.sleep(1.0)
    await waiter
    timings = await harness.timings(list(ids))
    first = min(t[0] for t in timings.values())
    last = max(t[1] for t in timings.values())
    latencies = [t[1] - t[0] for t in timings.values()]
    out: dict[str, Any] = {
        "n": len(ids),
        "wall_s": round(last - first, 2),
        "bench_wall_s": round(time.monotonic() - started, 2),
        "publishes_per_s": round(len(ids) / (last - first), 3),
        "failed": sum(1 for t in timings.values() if t[2] != "succeeded"),
        **summary_ms(latencies),
        **sampler.result(),
    }
    out["p50_over_critical_path"] = ratio(out["p50_ms"], cp_ms)
    return out


async def at_rate_limit(
    harness: EngineHarness, recorder: CallRecorder, bank: CampaignBank, url: str, opts: Options
) -> dict[str, Any]:
    name = harness.platform.value
    binding = BINDING[name]
    # Enough campaigns for the whole phase, made before it starts.
    per_publish = 17
    needed = (
        int(opts.rate_seconds * binding.per_s / (4 if binding.path_suffix else per_publish) * 1.5)
        + opts.rate_inflight
    )
    campaigns = bank.make(needed)
    before = await sandboxes.mark(url)
    sampler = LoadSampler()
    ids: list[str] = []
    started = time.time()
    feed_until = time.monotonic() + opts.rate_seconds
    while time.monotonic() < feed_until and campaigns:
        states = await harness.states(ids) if ids else {}
        unfinished = sum(1 for p in ids if states.get(p) not in ("succeeded", "failed"))
        for _ in range(max(opts.rate_inflight - unfinished, 0)):
            if campaigns:
                ids.append(await harness.enqueue(campaigns.pop()))
        sampler.sample()
        await asyncio.sleep(0.25)
    fed_until = time.time()
    await harness.wait(ids, timeout=600)
    drained = time.time()
    rows = sandboxes.platform_calls(await sandboxes.log_since(url, before))
    counted = [r for r in rows if binding.path_suffix is None or str(r["path"]).endswith(binding.path_suffix)]
    times = sorted(float(r["time"]) for r in counted)
    # The steady window: from 10 s after the first call (the limiter's initial burst spent) to the
    # end of feeding (every publish after it only drains the queue).
    steady_from = (times[0] if times else started) + 10.0
    steady = [t for t in times if steady_from <= t <= fed_until]
    span = max(fed_until - steady_from, 1e-9)
    per_s = len(steady) / span
    timings = await harness.timings(ids)
    out: dict[str, Any] = {
        "binding": binding.name,
        "limit_per_s": binding.per_s,
        "fed_s": round(fed_until - started, 1),
        "drain_s": round(drained - fed_until, 1),
        "publishes": len(ids),
        "failed": sum(1 for t in timings.values() if t[2] != "succeeded"),
        "publishes_per_s": round(len(ids) / max(drained - started, 1e-9), 3),
        "calls_total": len(rows),
        "calls_on_limit": len(counted),
        "steady_window_s": round(span, 1),
        "steady_per_s": round(per_s, 3),
        "share_of_limit_pct": round(100 * per_s / binding.per_s, 1),
        "per_minute_windows": _per_minute(times, started),
        "throttles_client": recorder.throttles.get(name, 0),
        "throttles_log": sandboxes.throttles_in_log(name, rows),
        "limiter_wait_ms_p50": round(
            percentile(
                [c.limiter_seconds * 1000 for c in recorder.calls if c.phase in {"create", "ready"}], 50
            ),
            1,
        ),
        "p50_publish_ms": round(percentile([(t[1] - t[0]) * 1000 for t in timings.values()], 50), 1),
        **sampler.result(),
    }
    if name in APP_LIMIT:
        label, limit = APP_LIMIT[name]
        all_times = [float(r["time"]) for r in rows if steady_from <= float(r["time"]) <= fed_until]
        out["app"] = {"limit": label, "steady_per_s": round(len(all_times) / span, 3), "limit_per_s": limit}
    return out


# ---- analysis ----------------------------------------------------------------------------------------
def decompose(plan: list[Step], calls: list[Call], created: float, finished: float) -> dict[str, float]:
    """Split one publish's time along its observed critical chain (the step answered last, then the
    dependency answered last before it, …): start (enqueue → first call asked), platform calls, rate
    limiter before them, engine time between a step's answer and its dependent's first call, and finish
    (last answer → run finished). Call times are mapped from perf_counter to epoch seconds."""
    offset = time.time() - time.perf_counter()
    steps: dict[str, list[Call]] = {}
    for c in calls:
        if c.step is not None and c.phase in {"create", "ready"}:
            steps.setdefault(c.step, []).append(c)
    if not steps:
        return {"total": (finished - created) * 1000}
    by_key = {s.key: s for s in plan}
    end = {k: max(c.answered_at for c in v) + offset for k, v in steps.items()}
    begin = {k: min(c.queued_at for c in v) + offset for k, v in steps.items()}
    chain = [max(end, key=lambda k: end[k])]
    while True:
        deps = [d for d in by_key[chain[0]].depends_on if d in steps] if chain[0] in by_key else []
        if not deps:
            break
        chain.insert(0, max(deps, key=lambda d: end[d]))
    on_chain = [c for k in chain for c in steps[k]]
    call_ms = sum(c.seconds for c in on_chain) * 1000
    limiter_ms = sum(c.limiter_seconds for c in on_chain) * 1000
    in_steps_ms = sum(end[k] - begin[k] for k in chain) * 1000
    hops_ms = sum(begin[b] - end[a] for a, b in itertools.pairwise(chain)) * 1000
    return {
        "total": (finished - created) * 1000,
        "start": (begin[chain[0]] - created) * 1000,
        "calls": call_ms,
        "rate_limiter": limiter_ms,
        "within_steps_other": in_steps_ms - call_ms - limiter_ms,
        "between_steps": hops_ms,
        "hops": float(len(chain) - 1),
        "finish": (finished - end[chain[-1]]) * 1000,
        "chain_round_trips": float(len(on_chain)),
    }


def _median_parts(parts: list[dict[str, float]]) -> dict[str, float]:
    keys = list(parts[0]) if parts else []
    return {k: round(percentile([p.get(k, math.nan) for p in parts], 50), 1) for k in keys}


def _per_minute(times: list[float], started: float) -> list[int]:
    """Calls on the binding limit in each minute since the phase started."""
    if not times:
        return []
    counts: Counter[int] = Counter(int((t - started) // 60) for t in times)
    return [counts.get(i, 0) for i in range(max(counts) + 1)]


def _generic(path: str) -> str:
    """A path with ids replaced, so that calls group by endpoint."""
    parts = []
    for part in path.split("/"):
        if (any(ch.isdigit() for ch in part) and not part.startswith("v")) or len(part) >= 24:
            parts.append("{id}")
        else:
            parts.append(part)
    return "/".join(parts)


def _row_text(mode: str, row: dict[str, Any], cp_ms: float) -> str:
    rate = f", {row['publishes_per_s']:.2f} publishes/s" if "publishes_per_s" in row else ""
    return (
        f"{mode}: n={row['n']}{rate}, p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms, "
        f"p50/critical path {row['p50_over_critical_path']:.2f} (target ≤ 1.3), failed {row['failed']}"
    )


# ---- report ------------------------------------------------------------------------------------------
def markdown(results: dict[str, Any]) -> str:
    rows = []
    rate_rows = []
    cp_rows = []
    profile_rows = []
    for name, r in results["platforms"].items():
        cp = r["probe"]["critical_path"]
        act = r["probe"]["activation"]
        cp_rows.append(
            [
                name,
                r["probe"]["calls_recorded"],
                r["probe"]["calls_in_request_log"],
                cp["round_trips"],
                f"{cp['ms']:.0f}",
                cp["path"],
                r["probe"]["observed_sequential_depth"],
                f"{act['round_trips']} (as implemented {act['as_implemented_round_trips']}, {act['calls']} calls)",
            ]
        )
        for mode in ("serial", "burst"):
            row = r.get(mode)
            if row:
                rows.append(
                    [
                        name,
                        mode
                        + (f" (pace {row['pace_s']} s)" if mode == "serial" and row.get("pace_s") else ""),
                        row["n"],
                        row.get("publishes_per_s", math.nan),
                        row["p50_ms"],
                        row["p99_ms"],
                        f"{cp['ms']:.0f}",
                        row["p50_over_critical_path"],
                        "yes" if row["p50_over_critical_path"] <= 1.3 else "no",
                    ]
                )
        if "rate" in r:
            rr = r["rate"]
            rate_rows.append(
                [
                    name,
                    rr["binding"],
                    rr["steady_per_s"],
                    f"{rr['share_of_limit_pct']:.1f} %",
                    rr["throttles_client"],
                    rr["throttles_log"],
                    rr["publishes_per_s"],
                    "yes"
                    if rr["share_of_limit_pct"] >= 95 and rr["throttles_client"] + rr["throttles_log"] == 0
                    else "no",
                ]
            )
        w = r["serial"]["where_time_goes_ms"]
        profile_rows.append(
            [
                name,
                w.get("total"),
                w.get("start"),
                w.get("calls"),
                w.get("rate_limiter"),
                w.get("between_steps"),
                w.get("hops"),
                w.get("within_steps_other"),
                w.get("finish"),
                r["serial"]["db_per_publish"]["queries"],
                r["serial"]["db_per_publish"]["query_ms"],
            ]
        )
    text = ["# Issue 6 — publishers (engine alone, sandbox at 50 ms per call)", ""]
    text.append(f"Load before: {results['load_before']}; after: {results['load_after']}")
    if results.get("disturbances"):
        text.append(f"\nDISTURBED — the database was unreachable at times: {results['disturbances']}")
    text += ["", "## Critical path per platform (one publish, fresh media)", ""]
    text.append(
        table(
            [
                "platform",
                "calls",
                "calls in log",
                "dependent RTs",
                "ms",
                "path (stepxcalls)",
                "observed depth",
                "activation RTs",
            ],
            cp_rows,
        )
    )
    text += ["", "## Latency and throughput (limits lifted)", ""]
    text.append(
        table(
            [
                "platform",
                "mode",
                "n",
                "publishes/s",
                "p50 ms",
                "p99 ms",
                "critical path ms",
                "p50 / CP",
                "≤ 1.3",
            ],
            rows,
        )
    )
    text += ["", "## At the platform's rate limit", ""]
    text.append(
        table(
            [
                "platform",
                "binding limit",
                "calls/s (steady)",
                "of limit",
                "throttles (client)",
                "throttles (log)",
                "publishes/s",
                "≥ 95 %, 0 throttles",
            ],
            rate_rows,
        )
    )
    text += ["", "## Where a serial publish's time goes (median ms, along the critical chain)", ""]
    text.append(
        table(
            [
                "platform",
                "total",
                "start",
                "calls",
                "rate limiter",
                "between steps",
                "hops",
                "in steps other",
                "finish",
                "DB queries",
                "DB ms",
            ],
            profile_rows,
        )
    )
    return "\n".join(text) + "\n"
