"""Consumer-lag exporter for the local runtime, with kafka_exporter's metric names and meaning.

    python deploy/monitoring/lag_exporter.py --kafka.server 127.0.0.1:19092 --web.listen-address :9308

Why not kafka_exporter itself: the Go module proxy reachable here refuses
`github.com/danielqsj/kafka_exporter` ("This module version is not available"), so the local runtime
cannot install it by its own files. This exporter answers with the same names and labels
(`kafka_consumergroup_lag{consumergroup,topic,partition}`, `kafka_consumergroup_lag_sum`, ...), so
the Grafana dashboard and the alert rules work unchanged against kafka_exporter in Kubernetes
(Strimzi's `kafkaExporter`) and in the compose file (its container image).

As kafka_exporter does, it reads offsets on every scrape: a group's lag on a partition is the
partition's high watermark minus the group's committed offset; partitions the group never committed
are not reported.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import (
    DescribeGroupsRequest_v0,
    DescribeGroupsRequest_v1,
    DescribeGroupsRequest_v2,
)
from aiokafka.protocol.api import Request

log = logging.getLogger("lag_exporter")


class DescribeGroups(Request[DescribeGroupsRequest_v0 | DescribeGroupsRequest_v1 | DescribeGroupsRequest_v2]):
    """DescribeGroups capped at v2: aiokafka 0.14 decodes the v3 response with the v2 schema and
    fails on Kafka 4.x ("Buffer underrun decoding string"); v2 carries everything we read."""

    API_KEY = 15

    def __init__(self, groups: list[str]) -> None:
        self._groups = groups

    def build(self, request_struct_class: type) -> DescribeGroupsRequest_v0:
        return request_struct_class(self._groups)


@dataclass
class Snapshot:
    """One scrape's worth of offsets."""

    brokers: int = 0
    partitions: dict[str, int] = field(default_factory=dict)
    newest: dict[TopicPartition, int] = field(default_factory=dict)
    oldest: dict[TopicPartition, int] = field(default_factory=dict)
    committed: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    scrape_seconds: float = 0.0


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _line(name: str, labels: dict[str, str], value: float) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}"


def _family(name: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]


def render(snapshot: Snapshot) -> str:
    """The Prometheus text exposition of a snapshot (kafka_exporter's families)."""
    out: list[str] = []
    out += _family(
        "kafka_brokers",
        "Number of Brokers in the Kafka Cluster.",
        [_line("kafka_brokers", {}, snapshot.brokers)],
    )
    out += _family(
        "kafka_topic_partitions",
        "Number of partitions for this Topic",
        (_line("kafka_topic_partitions", {"topic": t}, n) for t, n in sorted(snapshot.partitions.items())),
    )
    ordered = sorted(snapshot.newest, key=lambda tp: (tp.topic, tp.partition))
    out += _family(
        "kafka_topic_partition_current_offset",
        "Current Offset of a Broker at Topic/Partition",
        (
            _line(
                "kafka_topic_partition_current_offset",
                {"topic": tp.topic, "partition": str(tp.partition)},
                snapshot.newest[tp],
            )
            for tp in ordered
        ),
    )
    out += _family(
        "kafka_topic_partition_oldest_offset",
        "Oldest Offset of a Broker at Topic/Partition",
        (
            _line(
                "kafka_topic_partition_oldest_offset",
                {"topic": tp.topic, "partition": str(tp.partition)},
                snapshot.oldest.get(tp, 0),
            )
            for tp in ordered
        ),
    )
    current, current_sum, lag, lag_sum = [], [], [], []
    for group in sorted(snapshot.committed):
        totals: dict[str, tuple[int, int]] = {}
        for tp in sorted(snapshot.committed[group], key=lambda tp: (tp.topic, tp.partition)):
            offset = snapshot.committed[group][tp]
            labels = {"consumergroup": group, "topic": tp.topic, "partition": str(tp.partition)}
            current.append(_line("kafka_consumergroup_current_offset", labels, offset))
            behind = max(snapshot.newest.get(tp, offset) - offset, 0)
            lag.append(_line("kafka_consumergroup_lag", labels, behind))
            offsets, lags = totals.get(tp.topic, (0, 0))
            totals[tp.topic] = (offsets + offset, lags + behind)
        for topic, (offsets, lags) in sorted(totals.items()):
            labels = {"consumergroup": group, "topic": topic}
            current_sum.append(_line("kafka_consumergroup_current_offset_sum", labels, offsets))
            lag_sum.append(_line("kafka_consumergroup_lag_sum", labels, lags))
    out += _family(
        "kafka_consumergroup_current_offset", "Current Offset of a ConsumerGroup at Topic/Partition", current
    )
    out += _family(
        "kafka_consumergroup_current_offset_sum",
        "Current Offset of a ConsumerGroup at Topic for all partitions",
        current_sum,
    )
    out += _family(
        "kafka_consumergroup_lag", "Current Approximate Lag of a ConsumerGroup at Topic/Partition", lag
    )
    out += _family(
        "kafka_consumergroup_lag_sum",
        "Current Approximate Lag of a ConsumerGroup at Topic for all partitions",
        lag_sum,
    )
    out += _family(
        "kafka_consumergroup_members",
        "Amount of members in a consumer group",
        (
            _line("kafka_consumergroup_members", {"consumergroup": g}, n)
            for g, n in sorted(snapshot.members.items())
        ),
    )
    out += _family(
        "kafka_exporter_scrape_duration_seconds",
        "Time this exporter took to read the offsets",
        [_line("kafka_exporter_scrape_duration_seconds", {}, round(snapshot.scrape_seconds, 6))],
    )
    return "\n".join(out) + "\n"


class Collector:
    """Reads offsets from the cluster; one collection at a time, shared by concurrent scrapes."""

    def __init__(self, bootstrap: str, topic_filter: str, group_filter: str) -> None:
        self.bootstrap = bootstrap
        self.topic_re = re.compile(topic_filter)
        self.group_re = re.compile(group_filter)
        self.admin: AIOKafkaAdminClient | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.lock = asyncio.Lock()

    async def start(self) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="adrelay-lag-exporter")
        await self.admin.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, client_id="adrelay-lag-exporter"
        )
        await self.consumer.start()

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        if self.admin is not None:
            await self.admin.close()

    async def collect(self) -> Snapshot:
        async with self.lock:
            return await self._collect()

    async def _collect(self) -> Snapshot:
        assert self.admin is not None and self.consumer is not None
        started = time.perf_counter()
        snap = Snapshot()
        cluster = await self.admin.describe_cluster()
        snap.brokers = len(cluster.get("brokers", []))
        await self.consumer._client.force_metadata_update()
        names = [
            t for t in await self.consumer.topics() if self.topic_re.search(t) and not t.startswith("__")
        ]
        tps: list[TopicPartition] = []
        for topic in sorted(names):
            partitions = sorted(self.consumer.partitions_for_topic(topic) or ())
            snap.partitions[topic] = len(partitions)
            tps += [TopicPartition(topic, p) for p in partitions]
        if tps:
            snap.newest = dict(await self.consumer.end_offsets(tps))
            snap.oldest = dict(await self.consumer.beginning_offsets(tps))
        groups = sorted(
            g[0] for g in await self.admin.list_consumer_groups() if self.group_re.search(str(g[0]))
        )
        for group in groups:
            offsets = await self.admin.list_consumer_group_offsets(group)
            kept = {tp: meta.offset for tp, meta in offsets.items() if tp in snap.newest and meta.offset >= 0}
            if kept:
                snap.committed[group] = kept
        reported = [g for g in groups if g in snap.committed]
        if reported:
            coordinators: dict[int, list[str]] = {}
            for group in reported:
                coordinators.setdefault(await self.admin.find_coordinator(group), []).append(group)
            for node, members_of in coordinators.items():
                response = await self.admin._send_request(DescribeGroups(members_of), node)
                for (
                    described
                ) in response.groups:  # (error, group_id, state, protocol_type, protocol, members)
                    snap.members[described[1]] = len(described[5])
        snap.scrape_seconds = time.perf_counter() - started
        return snap


async def serve(args: argparse.Namespace) -> None:
    collector = Collector(args.bootstrap, args.topic_filter, args.group_filter)
    await collector.start()

    async def metrics(_request: web.Request) -> web.Response:
        try:
            text = render(await collector.collect())
        except Exception as exc:  # the scrape fails visibly (up == 1, but no kafka_* series)
            log.warning("collection failed: %r", exc)
            return web.Response(status=503, text=f"collection failed: {exc!r}\n")
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.add_routes([web.get("/metrics", metrics), web.get("/healthz", healthz)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = args.listen.rpartition(":")
    await web.TCPSite(runner, host or "0.0.0.0", int(port)).start()
    log.info("serving kafka lag metrics for %s on %s", args.bootstrap, args.listen)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await collector.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kafka.server", dest="bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--web.listen-address", dest="listen", default=":9308")
    parser.add_argument("--topic.filter", dest="topic_filter", default=".*", help="regex of topics to report")
    parser.add_argument("--group.filter", dest="group_filter", default=".*", help="regex of groups to report")
    parser.add_argument("--marker", default="", help="ignored: lets a supervisor recognise its process")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
