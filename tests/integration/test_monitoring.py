"""Monitoring on the real parts: a real Prometheus (Debian's package) scrapes the running services and
the consumer-lag exporter every second; the dashboard's and the alert rules' selectors are queried
through its HTTP API; consumer lag rises while a consumer is stopped under load and drains after it
restarts; a dead letter replayed after its cause was fixed is applied once.

Prometheus and the exporter start once per session (the `monitoring` fixture) with a generated config,
since the services' ports are chosen at run time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from adrelay import topics
from adrelay.events import Envelope, PublishStatusChanged, encode
from adrelay.events.payloads import PublishStatus
from adrelay.orchestrator.store import publish_id_for
from adrelay.platforms.base import make_tag
from tests.conftest import RuntimeEnv, Stack
from tests.deploy.promql import ALERTS, all_selectors, rule_exprs
from tests.deploy.tooling import monitor
from tests.support.kafka import produce_envelope
from tests.support.processes import REPO, ServiceProcess, free_port
from tests.support.publishing import (
    AD_SET_CREATE,
    TREE_KINDS,
    clear_faults,
    command,
    fault,
    live,
    submit,
    tree_of,
    wait_status,
)
from tests.support.samples import publish_command

# The tests above drive real traffic (lag, dead letters, a publish rolled back with a delete refused),
# so nearly every series exists when the selector test runs. One metric is recorded only when a
# platform reports its usage in response headers, which the sandboxes do not do on this flow: for it
# the test demands that some target exports it (a panel naming a metric nobody exports still fails),
# not a series. The services should pre-initialise it (zero per platform and scope kind).
RECORDED_ONLY_ON_USAGE_HEADERS = {"adrelay_rate_limit_usage_ratio"}


@dataclass
class Monitoring:
    url: str
    exporter_url: str
    started_at: float
    group_prefix: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        body = response.json()
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def series(self, selector: str) -> list[dict[str, str]]:
        response = httpx.get(
            f"{self.url}/api/v1/series",
            params={"match[]": selector, "start": str(self.started_at - 60), "end": str(time.time() + 5)},
            timeout=10,
        )
        body = response.json()
        assert body["status"] == "success", body
        return list(body["data"])

    def exported_names(self) -> set[str]:
        """Every metric family some target declares (HELP/TYPE), with or without samples."""
        response = httpx.get(f"{self.url}/api/v1/targets/metadata", timeout=10)
        names = set()
        for entry in response.json()["data"]:
            metric, kind = entry["metric"], entry["type"]
            names.add(metric)
            if kind == "histogram":
                names |= {f"{metric}_bucket", f"{metric}_sum", f"{metric}_count"}
            if kind == "counter" and not metric.endswith("_total"):
                names.add(f"{metric}_total")
        return names


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="session")
def monitoring(
    runtime_env: RuntimeEnv, services: dict[str, ServiceProcess], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Monitoring]:
    mon = monitor()
    directory = tmp_path_factory.mktemp("monitoring")
    prefix = "^" + re.escape(runtime_env["ADRELAY_TOPIC_PREFIX"])
    exporter_port, prometheus_port = free_port(), free_port()
    exporter = mon.start_exporter(
        directory, runtime_env.bootstrap, exporter_port, prefix, prefix, die_with_parent=True
    )
    config = mon.prometheus_config(
        {name: f"127.0.0.1:{proc.port}" for name, proc in services.items()},
        f"127.0.0.1:{exporter_port}",
        interval="1s",
        rule_files=[ALERTS],
    )
    prometheus = None
    try:
        prometheus = mon.start_prometheus(
            directory / "prometheus", config, prometheus_port, die_with_parent=True
        )
        yield Monitoring(
            f"http://127.0.0.1:{prometheus_port}",
            f"http://127.0.0.1:{exporter_port}",
            time.time(),
            runtime_env["ADRELAY_TOPIC_PREFIX"],
        )
    finally:
        if prometheus is not None:
            prometheus.stop()
        exporter.stop()


def adrelay(env: RuntimeEnv, *args: str, api_url: str | None = None) -> subprocess.CompletedProcess[str]:
    """The operator CLI as a person runs it, against this test run's broker, database and prefix."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "adrelay"), *args],
        env={**dict(env), "PATH": "/usr/bin:/bin", **({"ADRELAY_API_URL": api_url} if api_url else {})},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def status_event(campaign_id: str) -> Envelope:
    return Envelope.new(
        PublishStatusChanged(status=PublishStatus.RECEIVED),
        campaign_id=campaign_id,
        publish_id=f"pub-{campaign_id}",
    )


# ---- tests -----------------------------------------------------------------------------------------
def test_prometheus_scrapes_every_service_and_the_lag_exporter(
    monitoring: Monitoring, services: dict[str, ServiceProcess]
) -> None:
    def all_up() -> dict[str, str] | None:
        targets = httpx.get(f"{monitoring.url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        return health if set(health) == {*services, "kafka-lag"} and set(health.values()) == {"up"} else None

    wait_for(all_up, 30, "every target up")
    assert wait_for(lambda: monitoring.value('count(up{job="kafka-lag"} == 1)'), 10, "up series") == 1
    assert (
        monitoring.value(
            'count(up{job=~"orchestrator|meta-publisher|tiktok-publisher|snapchat-publisher|tracker"} == 1)'
        )
        == 5
    )


def test_the_figures_command_shows_a_groups_lag_and_each_platforms_runs(
    runtime_env: RuntimeEnv, monitoring: Monitoring, services: dict[str, ServiceProcess]
) -> None:
    """`monitor.py figures`, the on-call's one-scrape summary, reads what Prometheus holds: the tracker's
    group appears once it committed an offset on the status topic; every platform has its run figures."""
    import asyncio

    event = Envelope.new(
        PublishStatusChanged(status=PublishStatus.RECEIVED),
        campaign_id="cmp-figures",
        publish_id="pub-figures",
    )
    asyncio.run(produce_envelope(runtime_env.bootstrap, event))
    tracker_row = re.compile(
        rf"^  {re.escape(monitoring.group_prefix)}tracker\s+{re.escape(topics.STATUS.name)}\s+\d+", re.M
    )

    def complete() -> str | None:
        text: str = monitor().figures(monitoring.url)
        lag, _, runs = text.partition("runnable runs (adrelay_runnable_runs):")
        runnable, _, driven = runs.partition("runs being driven (adrelay_runs_active):")
        platforms = r"^  (meta|tiktok|snapchat)\s+\d"
        ok = (
            tracker_row.search(lag)
            and set(re.findall(platforms, runnable, re.M)) == {"meta", "tiktok", "snapchat"}
            and set(re.findall(platforms, driven, re.M)) == {"meta", "tiktok", "snapchat"}
        )
        return text if ok else None

    wait_for(complete, 30, "figures with the tracker's lag and every platform's runs")


def test_lag_rises_while_a_consumer_is_stopped_under_load_and_drains_after_it_restarts(
    monitoring: Monitoring, runtime_env: RuntimeEnv, services: dict[str, ServiceProcess]
) -> None:
    import asyncio

    tracker = services["tracker"]
    group, topic = topics.prefixed("tracker"), topics.STATUS.name
    lag = f'sum(kafka_consumergroup_lag_sum{{consumergroup="{group}", topic="{topic}"}})'
    campaign = f"cmp-lag-{uuid.uuid4().hex[:8]}"

    # The group has committed on the campaign's partition, so the exporter reports it (at zero lag);
    # like kafka_exporter, it reports only partitions a group committed on: the load uses the same key.
    asyncio.run(produce_envelope(runtime_env.bootstrap, status_event(campaign)))
    wait_for(lambda: monitoring.value(lag) == 0, 30, f"{group} at zero lag")
    load = 60
    try:
        tracker.stop()
        assert not tracker.alive()

        async def produce_load() -> None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(
                bootstrap_servers=runtime_env.bootstrap, enable_idempotence=True, acks="all"
            )
            await producer.start()
            try:
                for _ in range(load):
                    event = status_event(campaign)
                    await producer.send_and_wait(topic, encode(event), key=event.key, headers=event.headers())
            finally:
                await producer.stop()

        asyncio.run(produce_load())
        during = wait_for(
            lambda: (v := monitoring.value(lag)) is not None and v >= load and v, 30, "lag to show the load"
        )
        assert during == load, f"lag {during} while {load} events wait for the stopped tracker"
        members = monitoring.value(f'kafka_consumergroup_members{{consumergroup="{group}"}}')
        assert members == 0
    finally:
        if not tracker.alive():
            tracker.start()
        tracker.wait_ready(timeout=90)
    wait_for(lambda: monitoring.value(lag) == 0, 90, "lag back to zero after the restart")
    assert monitoring.value(f'kafka_consumergroup_members{{consumergroup="{group}"}}') == 1


async def _block_inbox(database_url: str, event_id: uuid.UUID) -> str:
    """A database fault that makes the tracker's handler fail for one event (until it is fixed)."""
    name = f"adrelay_test_block_{event_id.hex[:12]}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            f"""
            create function {name}() returns trigger language plpgsql as $$
            begin raise exception 'injected fault for event %', new.event_id; end $$;
            create trigger {name} before insert on processed_events for each row
            when (new.event_id = '{event_id}'::uuid) execute function {name}();
            """
        )
    finally:
        await conn.close()
    return name


async def _fix(database_url: str, name: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            f"drop trigger if exists {name} on processed_events; drop function if exists {name}();"
        )
    finally:
        await conn.close()


async def _applied(database_url: str, event_id: uuid.UUID) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                "select count(*) from processed_events where consumer = 'tracker' and event_id = $1", event_id
            )
        )
    finally:
        await conn.close()


def test_a_dead_letter_replayed_after_the_fix_is_applied_once(
    monitoring: Monitoring, runtime_env: RuntimeEnv, services: dict[str, ServiceProcess]
) -> None:
    import asyncio

    tracker = services["tracker"]
    event = status_event(f"cmp-dlq-{uuid.uuid4().hex[:8]}")
    pending = (
        f'sum(kafka_topic_partition_current_offset{{topic="{topics.STATUS.dlq_name}"}}) - on() '
        f'(sum(kafka_consumergroup_current_offset{{consumergroup="{topics.prefixed("adrelay-dlq-replay")}", topic="{topics.STATUS.dlq_name}"}}) '
        f'or sum(kafka_topic_partition_oldest_offset{{topic="{topics.STATUS.dlq_name}"}}))'
    )
    trigger = asyncio.run(_block_inbox(runtime_env.database_url, event.event_id))
    try:
        dead_before = tracker.metric("adrelay_dlq_messages_total", topic=topics.STATUS.name)
        asyncio.run(produce_envelope(runtime_env.bootstrap, event))
        wait_for(
            lambda: tracker.metric("adrelay_dlq_messages_total", topic=topics.STATUS.name) > dead_before,
            60,
            "the tracker to dead-letter the event",
        )
        listed = [
            json.loads(line)
            for line in adrelay(runtime_env, "dlq", "list", "--topic", "status", "--json").stdout.splitlines()
        ]
        (letter,) = [r for r in listed if r["event_id"] == str(event.event_id)]
        assert letter["kind"] == "HandlerError" and "injected fault" in letter["reason"]
        assert letter["source_topic"] == topics.STATUS.name and letter["consumer"] == "tracker"
        assert letter["replayed"] is False and letter["failed_at"]
        assert asyncio.run(_applied(runtime_env.database_url, event.event_id)) == 0
        shown = json.loads(adrelay(runtime_env, "dlq", "show", "status", str(letter["offset"])).stdout)
        assert shown["value"]["event_id"] == str(event.event_id)
        assert "dlq.reason" in shown["headers"]
        # The alert's expression sees the dead letter waiting.
        wait_for(lambda: (monitoring.value(pending) or 0) >= 1, 20, "AdrelayDeadLettersPending's expression")
    finally:
        asyncio.run(_fix(runtime_env.database_url, trigger))

    processed_before = tracker.metric("adrelay_events_processed_total", topic=topics.STATUS.name)
    replay = adrelay(runtime_env, "dlq", "replay", "--topic", "status")
    assert replay.returncode == 0, replay.stderr
    assert f"replayed {topics.STATUS.dlq_name} 0:{letter['offset']}" in replay.stdout
    wait_for(
        lambda: asyncio.run(_applied(runtime_env.database_url, event.event_id)) == 1,
        60,
        "the replayed event applied",
    )
    wait_for(
        lambda: tracker.metric("adrelay_events_processed_total", topic=topics.STATUS.name) > processed_before,
        20,
        "events_processed to count the replay",
    )

    # A second replay sends nothing: the replay group's committed offset remembers.
    again = adrelay(runtime_env, "dlq", "replay", "--topic", "status")
    assert again.returncode == 0 and "0 replayed" in again.stdout, again.stdout
    still = [
        json.loads(line)
        for line in adrelay(
            runtime_env, "dlq", "list", "--topic", "status", "--pending", "--json"
        ).stdout.splitlines()
    ]
    assert all(r["event_id"] != str(event.event_id) for r in still)

    # Forcing the same record again applies nothing: the tracker's inbox knows the event id.
    duplicates_before = tracker.metric(
        "adrelay_events_skipped_total", topic=topics.STATUS.name, reason="duplicate"
    )
    forced = adrelay(runtime_env, "dlq", "replay", "--topic", "status", "--offset", str(letter["offset"]))
    assert forced.returncode == 0 and "1 replayed" in forced.stdout, forced.stdout
    wait_for(
        lambda: (
            tracker.metric("adrelay_events_skipped_total", topic=topics.STATUS.name, reason="duplicate")
            > duplicates_before
        ),
        60,
        "the forced replay recognised as a duplicate",
    )
    assert asyncio.run(_applied(runtime_env.database_url, event.event_id)) == 1
    wait_for(lambda: monitoring.value(pending) == 0, 20, "no dead letter pending after the replay")


def test_cleanup_retry_removes_what_a_rollback_left(
    monitoring: Monitoring, runtime_env: RuntimeEnv, stack: Stack, services: dict[str, ServiceProcess]
) -> None:
    """TikTok refuses an ad group, so everything rolls back; Snapchat refuses to delete the campaign, so
    its rollback leaves it for manual cleanup. After the fault is gone, `adrelay cleanup retry` asks the
    orchestrator to roll Snapchat back again, and nothing is left."""
    import asyncio

    orchestrator = services["orchestrator"]
    body = command(stack)
    publish_id = publish_id_for(body["idempotency_key"])
    refuse_ad_group = {
        "effect": "validation",
        "count": 1,
        "match": {
            "method": "POST",
            "path": AD_SET_CREATE["tiktok"],
            "body": {"field": "adgroup_name", "contains": make_tag(publish_id, "ad_set:as-2")},
        },
    }
    refuse_delete = {"effect": "validation", "match": {"method": "DELETE", "path": r"/v1/campaigns/[^/]+$"}}
    asyncio.run(fault(stack.sandbox("tiktok"), refuse_ad_group))
    asyncio.run(fault(stack.sandbox("snapchat"), refuse_delete))
    try:
        asyncio.run(submit(orchestrator, body))
        result = asyncio.run(wait_status(orchestrator, publish_id, timeout=180))
        assert result["status"] == "needs_manual_cleanup", result
        assert result["platforms"]["snapchat"]["state"] == "needs_manual_cleanup", result["platforms"]
        listed = adrelay(runtime_env, "cleanup", "list", "--publish", publish_id, "--json")
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        assert {r["platform"] for r in rows} == {"snapchat"} and any(r["kind"] == "campaign" for r in rows), (
            rows
        )
        left = live(asyncio.run(tree_of(stack, "snapchat", publish_id, body)), TREE_KINDS["snapchat"])
        assert left, "the refused delete left the Snapchat campaign live"
        wait_for(
            lambda: monitoring.value('max(adrelay_runs{platform="snapchat", state="needs_manual_cleanup"})'),
            30,
            "AdrelayManualCleanupNeeded's expression",
        )
    finally:
        asyncio.run(clear_faults(stack.sandbox("tiktok")))
        asyncio.run(clear_faults(stack.sandbox("snapchat")))

    retried = adrelay(runtime_env, "cleanup", "retry", publish_id, api_url=orchestrator.url)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "snapchat: rollback requested again" in retried.stdout
    result = asyncio.run(wait_status(orchestrator, publish_id, wanted={"rolled_back"}, timeout=120))
    assert result["platforms"]["snapchat"]["state"] == "rolled_back", result["platforms"]
    for platform in ("meta", "tiktok", "snapchat"):
        assert live(asyncio.run(tree_of(stack, platform, publish_id, body)), TREE_KINDS[platform]) == []
    after = adrelay(runtime_env, "cleanup", "list", "--publish", publish_id, "--json")
    assert after.stdout.strip() == "", after.stdout
    again = adrelay(
        runtime_env, "cleanup", "retry", publish_id, "--platform", "snapchat", api_url=orchestrator.url
    )
    assert again.returncode == 1 and "refused (409)" in again.stderr, again.stdout + again.stderr


def test_cleanup_resolve_records_a_removal_by_hand(runtime_env: RuntimeEnv) -> None:
    import asyncio

    async def insert() -> int:
        conn = await asyncpg.connect(runtime_env.database_url)
        try:
            return int(
                await conn.fetchval(
                    "insert into manual_cleanup (publish_id, platform, kind, external_id, reason) "
                    "values ($1, 'meta', 'campaign', $2, 'refused by the platform') returning id",
                    f"pub-hand-{uuid.uuid4().hex[:8]}",
                    uuid.uuid4().hex[:12],
                )
            )
        finally:
            await conn.close()

    row = asyncio.run(insert())
    assert any(
        json.loads(line)["id"] == row
        for line in adrelay(runtime_env, "cleanup", "list", "--json").stdout.splitlines()
    )
    done = adrelay(runtime_env, "cleanup", "resolve", str(row), "--note", "deleted by hand in Ads Manager")
    assert done.returncode == 0 and f"resolved {row}" in done.stdout, done.stderr
    assert all(
        json.loads(line)["id"] != row
        for line in adrelay(runtime_env, "cleanup", "list", "--json").stdout.splitlines()
    )
    resolved = [
        json.loads(line)
        for line in adrelay(runtime_env, "cleanup", "list", "--all", "--json").stdout.splitlines()
    ]
    (mine,) = [r for r in resolved if r["id"] == row]
    assert mine["resolution"] == "deleted by hand in Ads Manager" and mine["resolved_at"]
    twice = adrelay(runtime_env, "cleanup", "resolve", str(row), "--note", "again")
    assert twice.returncode == 1 and "not unresolved" in twice.stderr


def wait_for_series(monitoring: Monitoring, selector: str, timeout: float = 10.0) -> bool:
    """A few scrapes' grace: the last increments may not be scraped yet."""
    deadline = time.monotonic() + timeout
    while not monitoring.series(selector):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_every_selector_of_the_dashboard_and_the_alert_rules_is_exported_and_returns_series(
    monitoring: Monitoring, runtime_env: RuntimeEnv, services: dict[str, ServiceProcess]
) -> None:
    """Runs after the tests above (file order) produced lag, dead letters, replays, a publish and its
    rollback. Fails when a panel or a rule names a metric no target exports, or a selector matches no
    series."""
    import asyncio

    # Some traffic through the orchestrator too: a command it records and answers through its outbox.
    orchestrator = services["orchestrator"]
    asyncio.run(produce_envelope(runtime_env.bootstrap, publish_command()))
    wait_for(
        lambda: orchestrator.metric("adrelay_outbox_published_total") > 0,
        60,
        "the orchestrator's outbox relay",
    )
    used = all_selectors()
    exported = wait_for(
        lambda: (
            (names := monitoring.exported_names())
            and {"adrelay_runnable_runs", "kafka_consumergroup_lag"} <= names
            and names
        ),
        30,
        "target metadata",
    )
    missing_names = {}
    no_series = {}
    for text, where in used.items():
        from tests.deploy.promql import selectors

        (selector,) = selectors(text)
        names = selector.metric_names()
        unknown = [n for n in names if n not in exported and n != "up"]
        if unknown:
            missing_names[text] = where
            continue
        if set(names) & RECORDED_ONLY_ON_USAGE_HEADERS:
            continue
        if not wait_for_series(monitoring, text):
            no_series[text] = where
    assert not missing_names, f"metrics no target exports: {missing_names}"
    assert not no_series, f"selectors that return no series: {no_series}"
    assert set(rule_exprs()) >= {
        "AdrelayConsumerLagGrowing",
        "AdrelayDeadLettersPending",
        "AdrelayPublishStuck",
        "AdrelayManualCleanupNeeded",
    }


def test_the_check_fails_for_a_metric_no_target_exports(monitoring: Monitoring) -> None:
    """The name check above is live: a made-up metric is not in the targets' metadata."""
    exported = monitoring.exported_names()
    assert "adrelay_runnable_runs" in exported
    assert "adrelay_publishes_teleported_total" not in exported
    assert monitoring.series("adrelay_publishes_teleported_total") == []
