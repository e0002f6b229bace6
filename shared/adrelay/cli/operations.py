"""Operator commands: dead letters, manual cleanup, rendered deploy manifests.

`adrelay dlq list|show|replay` reads the `<topic>.dlq` topics of the catalogue. A replay re-sends a
dead letter's original key, value and headers (without the `dlq.*` ones) to its source topic; the
consumers' inbox dedupes by event id, so a record replayed twice is applied once. What was replayed is
tracked as a committed offset of the consumer group `adrelay-dlq-replay` on each DLQ topic (namespaced
by `ADRELAY_TOPIC_PREFIX` like every group): a plain `replay` sends only records past it.

`adrelay cleanup list|retry|resolve` works on the `manual_cleanup` rows a rollback left behind: `retry`
asks the orchestrator (`ADRELAY_API_URL`) to roll the platform back again, `resolve` records that a
person removed the objects by hand.

`adrelay deploy render-topics|render-rules` writes or checks the generated Kubernetes manifests.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click
import httpx

from adrelay import topics
from adrelay.config import Settings
from adrelay.events.codec import peek_ids

REPLAY_GROUP = "adrelay-dlq-replay"
DLQ_PREFIX = "dlq."


def replay_group() -> str:
    return topics.prefixed(REPLAY_GROUP)


# ---- dead letters --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, with the failure described by its `dlq.*` headers."""

    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    replayed: bool = False

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode(errors="replace")
        return None

    @property
    def source_topic(self) -> str:
        return self.header("dlq.source_topic") or self.dlq_topic.removesuffix(".dlq")

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_PREFIX)]

    def summary(self) -> dict[str, Any]:
        ids = peek_ids(self.value)
        return {
            "dlq_topic": self.dlq_topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key.decode(errors="replace") if self.key is not None else None,
            "event_id": ids.get("event_id"),
            "event_type": ids.get("type"),
            "reason": self.header("dlq.reason"),
            "kind": self.header("dlq.kind"),
            "source_topic": self.source_topic,
            "source_partition": _int_or_none(self.header("dlq.source_partition")),
            "source_offset": _int_or_none(self.header("dlq.source_offset")),
            "consumer": self.header("dlq.consumer"),
            "failed_at": self.header("dlq.failed_at"),
            "replayed": self.replayed,
        }


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


def dlq_topics(selector: str | None = None) -> list[topics.TopicSpec]:
    """Catalogue topics that have a DLQ, optionally the one `selector` names (key, name or DLQ name)."""
    specs = [s for s in topics.CATALOGUE if s.has_dlq]
    if selector is None:
        return specs
    for spec in specs:
        if selector in {spec.key, spec.base_name, spec.name, spec.dlq_name, topics.dlq_of(spec.base_name)}:
            return [spec]
    known = ", ".join(s.key for s in specs)
    raise click.BadParameter(f"{selector!r} is not a catalogue topic with a DLQ (one of: {known})")


async def _consumer(bootstrap: str) -> Any:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=replay_group(),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="adrelay-cli",
    )
    await consumer.start()
    return consumer


async def _partitions(consumer: Any, topic: str) -> list[Any]:
    from aiokafka import TopicPartition

    partitions = consumer.partitions_for_topic(topic)
    for _ in range(20):
        if partitions:
            break
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        await asyncio.sleep(0.1)
    if not partitions:
        raise click.ClickException(f"topic {topic} does not exist (run `adrelay topics create`)")
    return [TopicPartition(topic, p) for p in sorted(partitions)]


async def read_dead_letters(bootstrap: str, dlq_topic: str) -> list[DeadLetter]:
    """Every record of `dlq_topic` up to its current end, each marked replayed or not."""
    consumer = await _consumer(bootstrap)
    try:
        tps = await _partitions(consumer, dlq_topic)
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        out: list[DeadLetter] = []
        for tp in tps:
            committed = await consumer.committed(tp) or 0
            if end[tp] <= begin[tp]:
                continue
            consumer.seek(tp, begin[tp])
            while await consumer.position(tp) < end[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for message in batch.get(tp, []):
                    if message.offset >= end[tp]:
                        break
                    out.append(
                        DeadLetter(
                            dlq_topic,
                            tp.partition,
                            message.offset,
                            message.key,
                            message.value or b"",
                            tuple(message.headers or ()),
                            replayed=message.offset < committed,
                        )
                    )
        return out
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class ReplayResult:
    sent: list[DeadLetter]
    refused: list[tuple[DeadLetter, str]]


async def replay(
    bootstrap: str, dlq_topic: str, offset: int | None = None, partition: int = 0, dry_run: bool = False
) -> ReplayResult:
    """Re-send dead letters to their source topic, oldest first, committing each one's offset after the
    broker acknowledged it. With `offset`, only that record is sent (again, if it was replayed before)."""
    from aiokafka import AIOKafkaProducer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    letters = await read_dead_letters(bootstrap, dlq_topic)
    if offset is not None:
        chosen = [d for d in letters if d.offset == offset and d.partition == partition]
        if not chosen:
            raise click.ClickException(f"no record at {dlq_topic} partition {partition} offset {offset}")
    else:
        chosen = [d for d in letters if not d.replayed]
    expected_source = dlq_topic.removesuffix(".dlq")
    refused = [
        (d, f"source topic {d.source_topic} is not {expected_source}")
        for d in chosen
        if d.source_topic != expected_source
    ]
    to_send = [d for d in chosen if d.source_topic == expected_source]
    if dry_run or not to_send:
        return ReplayResult(to_send, refused)
    consumer = await _consumer(bootstrap)
    consumer.assign(await _partitions(consumer, dlq_topic))  # commits need the partitions assigned
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for letter in to_send:
            await producer.send_and_wait(
                letter.source_topic, value=letter.value, key=letter.key, headers=letter.original_headers()
            )
            tp = TopicPartition(dlq_topic, letter.partition)
            committed = await consumer.committed(tp) or 0
            if letter.offset == committed:  # only a contiguous advance: a skipped record stays pending
                await consumer.commit({tp: OffsetAndMetadata(letter.offset + 1, "")})
        return ReplayResult(to_send, refused)
    finally:
        await producer.stop()
        await consumer.stop()


def _bootstrap() -> str:
    return Settings().kafka_bootstrap_servers


def _print_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for _, title in columns:
        table.add_column(title, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(key) is None else str(row.get(key)) for key, _ in columns))
    Console(width=200).print(table)


@click.group()
def dlq() -> None:
    """Dead letters: messages a consumer could never apply, with the reason."""


@dlq.command("list")
@click.option("--topic", "selector", help="catalogue key or topic name (default: every DLQ)")
@click.option("--pending", is_flag=True, help="only records not replayed yet")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def dlq_list(selector: str | None, pending: bool, as_json: bool) -> None:
    """Dead letters with their reason, kind, source position and failure time."""
    rows: list[dict[str, Any]] = []
    for spec in dlq_topics(selector):
        letters = asyncio.run(read_dead_letters(_bootstrap(), spec.dlq_name))
        rows += [d.summary() for d in letters if not (pending and d.replayed)]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    if not rows:
        click.echo("no dead letters")
        return
    for row in rows:
        row["at"] = f"{row['partition']}:{row['offset']}"
        row["source"] = f"{row['source_topic']}/{row['source_partition']}@{row['source_offset']}"
    _print_table(
        rows,
        [
            ("dlq_topic", "DLQ topic"),
            ("at", "p:offset"),
            ("key", "key"),
            ("kind", "kind"),
            ("reason", "reason"),
            ("source", "source topic/partition@offset"),
            ("consumer", "consumer"),
            ("failed_at", "failed at"),
            ("replayed", "replayed"),
        ],
    )


@dlq.command("show")
@click.argument("selector")
@click.argument("offset", type=int)
@click.option("--partition", type=int, default=0, show_default=True)
def dlq_show(selector: str, offset: int, partition: int) -> None:
    """One dead letter in full: every header, the key and the value (JSON when it decodes)."""
    (spec,) = dlq_topics(selector)
    letters = asyncio.run(read_dead_letters(_bootstrap(), spec.dlq_name))
    found = [d for d in letters if d.offset == offset and d.partition == partition]
    if not found:
        raise click.ClickException(f"no record at {spec.dlq_name} partition {partition} offset {offset}")
    letter = found[0]
    try:
        value: Any = json.loads(letter.value)
    except ValueError:
        value = {"base64": base64.b64encode(letter.value).decode()}
    headers = {k: v.decode(errors="replace") for k, v in letter.headers}
    click.echo(json.dumps({**letter.summary(), "headers": headers, "value": value}, indent=2))


@dlq.command("replay")
@click.option("--topic", "selector", required=True, help="catalogue key or topic name")
@click.option("--offset", type=int, help="replay only the record at this DLQ offset (even if replayed)")
@click.option("--partition", type=int, default=0, show_default=True)
@click.option("--dry-run", is_flag=True, help="show what would be sent; send nothing")
def dlq_replay(selector: str, offset: int | None, partition: int, dry_run: bool) -> None:
    """Send dead letters back to their source topic after the cause was fixed (applied once)."""
    (spec,) = dlq_topics(selector)
    result = asyncio.run(replay(_bootstrap(), spec.dlq_name, offset, partition, dry_run))
    verb = "would replay" if dry_run else "replayed"
    for letter in result.sent:
        click.echo(f"{verb} {letter.dlq_topic} {letter.partition}:{letter.offset} -> {letter.source_topic}")
    for letter, why in result.refused:
        click.echo(f"refused {letter.dlq_topic} {letter.partition}:{letter.offset}: {why}", err=True)
    click.echo(f"{len(result.sent)} {verb}, {len(result.refused)} refused")
    if result.refused:
        sys.exit(1)


# ---- manual cleanup ------------------------------------------------------------------------------
async def _fetch(query: str, *args: Any) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(Settings().database_url, timeout=10)
    try:
        return [dict(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}


@click.group()
def cleanup() -> None:
    """Objects a rollback could not remove (`needs_manual_cleanup`)."""


@cleanup.command("list")
@click.option("--all", "show_all", is_flag=True, help="resolved rows too")
@click.option("--publish", "publish_id", help="only this publish")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def cleanup_list(show_all: bool, publish_id: str | None, as_json: bool) -> None:
    """Objects left on a platform, oldest first; unresolved ones unless --all."""
    rows = asyncio.run(
        _fetch(
            """
            select id, publish_id, platform, kind, external_id, reason, created_at, resolved_at, resolution
            from manual_cleanup
            where ($1 or resolved_at is null) and ($2::text is null or publish_id = $2)
            order by id
            """,
            show_all,
            publish_id,
        )
    )
    if as_json:
        for row in rows:
            click.echo(json.dumps(_jsonable(row)))
        return
    if not rows:
        click.echo("nothing needs manual cleanup")
        return
    _print_table(
        [_jsonable(r) for r in rows],
        [
            ("id", "id"),
            ("publish_id", "publish"),
            ("platform", "platform"),
            ("kind", "kind"),
            ("external_id", "external id"),
            ("reason", "reason"),
            ("created_at", "since"),
            ("resolution", "resolution"),
        ],
    )


@cleanup.command("resolve")
@click.argument("ids", type=int, nargs=-1, required=True)
@click.option("--note", required=True, help="what was done, e.g. 'deleted by hand in Ads Manager'")
def cleanup_resolve(ids: tuple[int, ...], note: str) -> None:
    """Mark rows resolved after removing their objects by hand."""
    rows = asyncio.run(
        _fetch(
            """
            update manual_cleanup set resolved_at = now(), resolution = $2
            where id = any($1::bigint[]) and resolved_at is null
            returning id
            """,
            list(ids),
            note,
        )
    )
    done = sorted(r["id"] for r in rows)
    missing = sorted(set(ids) - set(done))
    if done:
        click.echo(f"resolved {', '.join(map(str, done))}")
    if missing:
        raise click.ClickException(f"not unresolved rows: {', '.join(map(str, missing))}")


def api_url() -> str:
    import os

    return os.environ.get("ADRELAY_API_URL", "http://127.0.0.1:6066").rstrip("/")


@cleanup.command("retry")
@click.argument("publish_id")
@click.option("--platform", type=click.Choice(["meta", "tiktok", "snapchat"]), help="default: every one")
def cleanup_retry(publish_id: str, platform: str | None) -> None:
    """Ask the orchestrator to roll the platform back again (the deletes that failed are retried)."""
    if platform is None:
        rows = asyncio.run(
            _fetch(
                "select distinct platform from manual_cleanup where publish_id = $1 and resolved_at is null",
                publish_id,
            )
        )
        platforms = sorted(r["platform"] for r in rows)
        if not platforms:
            raise click.ClickException(f"publish {publish_id} has no unresolved manual cleanup")
    else:
        platforms = [platform]
    failed = False
    for name in platforms:
        url = f"{api_url()}/publishes/{publish_id}/cleanup-retry"
        try:
            response = httpx.post(url, json={"platform": name}, timeout=30)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"orchestrator at {api_url()} unreachable: {exc}") from exc
        body = (
            response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        )
        if response.status_code >= 400:
            failed = True
            click.echo(
                f"{name}: refused ({response.status_code}): {body.get('error', response.text)}", err=True
            )
        else:
            click.echo(f"{name}: rollback requested again; publish is {body.get('publish_status', '?')}")
    if failed:
        sys.exit(1)


# ---- rendered deploy manifests -------------------------------------------------------------------
@click.group()
def deploy() -> None:
    """Kubernetes manifests rendered from the topic catalogue and the alert rules."""


def _render_command(kind: str) -> click.Command:
    @click.option("--write", is_flag=True, help="write the checked-in file")
    @click.option("--check", is_flag=True, help="fail when the checked-in file is stale")
    def command(write: bool, check: bool) -> None:
        from adrelay import deploy_manifests as dm

        path, render = (
            (dm.TOPICS_FILE, dm.render_topics) if kind == "topics" else (dm.RULES_FILE, dm.render_rules)
        )
        text = render()
        if check:
            if not path.exists() or path.read_text() != text:
                raise click.ClickException(
                    f"{path.relative_to(dm.REPO)} is stale (run `adrelay deploy render-{kind} --write`)"
                )
            click.echo(f"{path.relative_to(dm.REPO)} up to date")
        elif write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            click.echo(f"wrote {path.relative_to(dm.REPO)}")
        else:
            click.echo(text, nl=False)

    command.__doc__ = (
        "Strimzi KafkaTopic manifests from the topic catalogue."
        if kind == "topics"
        else "A PrometheusRule from deploy/prometheus/alerts.yml."
    )
    return click.command(f"render-{kind}")(command)


deploy.add_command(_render_command("topics"))
deploy.add_command(_render_command("rules"))


def register(main: click.Group) -> None:
    main.add_command(dlq)
    main.add_command(cleanup)
    main.add_command(deploy)
