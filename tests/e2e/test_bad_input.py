"""Bad input on every consumed topic and on the orchestrator's HTTP endpoints (issue 7), every service a
process, the sandboxes as the platforms.

Invariant 7: a malformed message never stops a consumer; it lands in `<topic>.dlq` with its reason. A
known type on a topic that does not handle it, and an unknown type, are skipped (neither applied nor
dead-lettered). Over HTTP, bad input gets a 4xx with field paths; a well-formed command whose values
are absurd (a budget in the wrong units) ends `rejected` with issues. Nothing is half-written: no row in
the orchestrator's or the publishers' tables, no inbox row for what was not applied, no write call on
any sandbox. After the bad records a good publish of the same campaign (same partition of every topic)
goes all the way to `published`, so every consumer kept consuming.

Kafka refuses a record over ~1 MB (the producer's `max_request_size` and the broker's
`message.max.bytes`, both 1 MiB by default): a 10 MB name never reaches a topic, and over HTTP it is a
413. A record just under that limit does reach a consumer; those cases and an accepted command too
large for Kafka run against services of their own (`isolated_services`), so a consumer or a relay
they stop cannot hold up the session's services.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from adrelay import topics
from adrelay.events import (
    AdReviewChanged,
    CampaignPublishRequested,
    Envelope,
    ExternalIds,
    NotificationRequested,
    PlatformPublishFailed,
    PlatformPublishProgressed,
    PlatformPublishSucceeded,
    PublishCampaign,
    PublishStatusChanged,
    RollbackRequested,
    encode,
)
from adrelay.events.payloads import ErrorCategory, PlatformError, PolicyViolation, PublishStatus
from adrelay.model import Platform
from adrelay.orchestrator.store import publish_id_for
from adrelay.topics import TopicSpec
from tests.conftest import RuntimeEnv, Stack
from tests.support.bad_input import (
    CASE_HEADER,
    Isolated,
    Sender,
    dead_letters,
    end_offsets,
    isolated_services,
    raw,
    wait_for,
)
from tests.support.kafka import Record, envelopes, produce, read_topic
from tests.support.processes import ServiceProcess
from tests.support.publishing import command, log_marks, submit, view, wait_status, writes_since
from tests.support.samples import publish_command

PLATFORMS = ("meta", "tiktok", "snapchat")
PUBLISHERS = ("meta-publisher", "tiktok-publisher", "snapchat-publisher")
CONSUMED = (
    topics.COMMANDS,
    topics.PUBLISH_REQUESTED,
    topics.PLATFORM_RESULTS,
    topics.PLATFORM_COMMANDS,
    topics.STATUS,
    topics.NOTIFICATIONS,
)
KAFKA_MAX_REQUEST = 1024 * 1024  # the producer's max_request_size and, near enough, the broker's limit
MAX_BODY = 1024 * 1024  # the orchestrator's HTTP body limit
UNDECODABLE = b"\xff\xfe\x00 not an envelope"
NUL = "\u0000"
ABSURD_KINDS = ("HandlerError", "PermanentError", "MalformedEvent")


@dataclass(frozen=True)
class Case:
    """A bad record and what should become of it: dead-lettered (with a reason and a kind) or skipped."""

    name: str
    value: bytes | None
    reason: str | tuple[str, ...] = ""  # a substring of dlq.reason (or one of several)
    kind: str | tuple[str, ...] = "MalformedEvent"  # dlq.kind (or one of several)
    event_id: uuid.UUID | None = None
    skip: bool = False
    publish_id: str | None = None


Mutation = Callable[[dict[str, Any]], None]


def _case(
    name: str,
    envelope: Envelope,
    reason: str | tuple[str, ...],
    kind: str | tuple[str, ...] = "MalformedEvent",
    *,
    mutate: Mutation | None = None,
    skip: bool = False,
) -> Case:
    """`envelope` as it travels, broken by `mutate` (which edits the JSON object in place)."""
    data = raw(envelope)
    if mutate is not None:
        mutate(data)
    return Case(name, orjson.dumps(data), reason, kind, envelope.event_id, skip, envelope.publish_id)


def _set(**changes: Any) -> Mutation:
    return lambda data: data.update(changes)


def _set_payload(**changes: Any) -> Mutation:
    return lambda data: data["payload"].update(changes)


def _drop(*fields: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for name in fields:
            del data["payload"][name]

    return mutate


def common_cases(
    fresh: Callable[[], Envelope], other: Callable[[], Envelope], missing: tuple[str, ...]
) -> list[Case]:
    """What can go wrong with any record. `fresh()` makes a valid envelope for the topic (a new event
    and publish id each time), `other()` a valid envelope of a type the topic's consumers do not handle."""
    wrong = other()
    return [
        Case("undecodable", UNDECODABLE, "not JSON"),
        Case("tombstone", None, "tombstone"),
        Case("not-an-object", b"[1, 2, 3]", "must be a JSON object"),
        _case("no-type", fresh(), "missing envelope field 'type'", mutate=lambda d: d.pop("type")),
        _case("bad-version", fresh(), "malformed schema_version", mutate=_set(schema_version="one")),
        _case("major-2", fresh(), "major 2", "UnsupportedSchemaVersion", mutate=_set(schema_version="2.0")),
        _case("missing-fields", fresh(), "Field required", mutate=_drop(*missing)),
        _case(
            "type-mismatch",
            fresh(),
            "does not match payload type",
            mutate=_set(payload=raw(other())["payload"]),
        ),
        Case("wrong-topic", encode(wrong), event_id=wrong.event_id, skip=True),
        _case("unknown-type", fresh(), "", mutate=_set(type="CampaignArchived"), skip=True),
    ]


def _ghost() -> str:
    return f"pub-bad-{uuid.uuid4().hex[:16]}"


def _budgets(minor: int) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for ad_set in data["payload"]["campaign"]["ad_sets"]:
            ad_set["budget"]["amount"]["amount_minor"] = minor

    return mutate


def _unknown_platform(data: dict[str, Any]) -> None:
    data["payload"]["targets"][0]["platform"] = "myspace"


def cases_by_topic(stack: Stack, campaign_id: str) -> dict[str, list[Case]]:
    """Every bad record this module sends, per consumed topic (all keyed by `campaign_id`)."""
    cid = campaign_id

    def envelope(payload: Any, publish_id: str | None = None) -> Envelope:
        return Envelope.new(payload, campaign_id=cid, publish_id=publish_id)

    def command_() -> Envelope:
        # A fresh idempotency key each: a command applied by mistake would show in `publishes`.
        cmd = publish_command(campaign_id=cid, idempotency_key=f"bad-{uuid.uuid4().hex}")
        return envelope(cmd.payload)

    def status() -> Envelope:
        return envelope(PublishStatusChanged(status=PublishStatus.RECEIVED), _ghost())

    body = command(stack, campaign_id=cid)
    request_payload = CampaignPublishRequested.model_validate(
        {"campaign": body["campaign"], "targets": body["targets"]}
    )

    def request() -> Envelope:  # real targets: a request applied by mistake would write on the sandboxes
        return envelope(request_payload, _ghost())

    def rollback() -> Envelope:
        return envelope(RollbackRequested(platform=Platform.META, reason="bad input"), _ghost())

    def succeeded() -> Envelope:
        return envelope(
            PlatformPublishSucceeded(platform=Platform.META, external_ids=ExternalIds(campaign="1")), _ghost()
        )

    def progress() -> Envelope:
        return envelope(
            PlatformPublishProgressed(
                platform=Platform.META, step="campaign", step_state="succeeded", steps_done=1, steps_total=7
            ),
            _ghost(),
        )

    def note() -> Envelope:
        return envelope(NotificationRequested(kind="published", title="t", message="m"), _ghost())

    failed = envelope(
        PlatformPublishFailed(
            platform=Platform.META, error=PlatformError(category=ErrorCategory.VALIDATION, message="x")
        ),
        _ghost(),
    )
    no_publish_id = envelope(request_payload, None)
    return {
        topics.COMMANDS.key: [
            *common_cases(command_, status, ("campaign", "targets")),
            _case("negative-budget", command_(), "greater than or equal to 0", mutate=_budgets(-100)),
            _case(
                "huge-name",
                command_(),
                "at most 400 characters",
                mutate=lambda d: d["payload"]["campaign"].update(name="n" * 600_000),
            ),
            _case("unknown-platform", command_(), "myspace", mutate=_unknown_platform),
        ],
        topics.PUBLISH_REQUESTED.key: [
            *common_cases(request, command_, ("campaign",)),
            _case("negative-budget", request(), "greater than or equal to 0", mutate=_budgets(-1)),
            _case("unknown-platform", request(), "myspace", mutate=_unknown_platform),
            # Both reach the handler today (an assert, a 32-bit column) and are dead-lettered after
            # UNEXPECTED_ERROR_ATTEMPTS; a stricter payload model would dead-letter them at decoding.
            _case("no-publish-id", no_publish_id, ("handler failed", "publish"), ABSURD_KINDS),
            _case(
                "absurd-attempt",
                request(),
                ("int32", "attempt"),
                ABSURD_KINDS,
                mutate=_set_payload(attempt=2**31),
            ),
        ],
        topics.PLATFORM_RESULTS.key: [
            *common_cases(succeeded, rollback, ("platform", "external_ids")),
            _case(
                "sibling-payload", succeeded(), "does not match", mutate=_set(payload=raw(failed)["payload"])
            ),
            _case(
                "unknown-platform",
                succeeded(),
                "platform: Input should be",
                mutate=_set_payload(platform="myspace"),
            ),
            _case(
                "negative-steps", progress(), "greater than or equal to 0", mutate=_set_payload(steps_done=-1)
            ),
            _case(
                "absurd-steps",
                progress(),
                ("int32", "steps_done"),
                ABSURD_KINDS,
                mutate=_set_payload(steps_done=2**31),
            ),
        ],
        topics.PLATFORM_COMMANDS.key: [
            *common_cases(rollback, status, ("platform",)),
            _case(
                "unknown-platform",
                rollback(),
                "platform: Input should be",
                mutate=_set_payload(platform="myspace"),
            ),
        ],
        topics.STATUS.key: [
            *common_cases(status, command_, ("status",)),
            _case(
                "unknown-status", status(), "status: Input should be", mutate=_set_payload(status="exploded")
            ),
        ],
        topics.NOTIFICATIONS.key: [
            *common_cases(note, status, ("title", "message")),
            _case("unknown-kind", note(), "kind: Input should be", mutate=_set_payload(kind="fireworks")),
        ],
    }


def newer_minor(campaign_id: str) -> dict[str, Envelope]:
    """A valid envelope per topic (but publish-requested, which would publish) to send as schema 1.9
    with a field this consumer does not know: accepted (applied), never dead-lettered."""
    return {
        topics.COMMANDS.key: publish_command(campaign_id=campaign_id, idempotency_key=f"minor-{campaign_id}"),
        topics.PLATFORM_RESULTS.key: Envelope.new(
            PlatformPublishSucceeded(platform=Platform.META, external_ids=ExternalIds(campaign="1")),
            campaign_id=campaign_id,
            publish_id=_ghost(),
        ),
        topics.PLATFORM_COMMANDS.key: Envelope.new(
            RollbackRequested(platform=Platform.META, reason="rolled back before it started"),
            campaign_id=campaign_id,
            publish_id=_ghost(),
        ),
        topics.STATUS.key: Envelope.new(
            PublishStatusChanged(status=PublishStatus.RECEIVED), campaign_id=campaign_id, publish_id=_ghost()
        ),
        topics.NOTIFICATIONS.key: Envelope.new(
            NotificationRequested(kind="published", title="t", message="m"),
            campaign_id=campaign_id,
            publish_id=_ghost(),
        ),
    }


async def inbox_rows(db: asyncpg.Pool, event_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "select consumer, event_id, event_type from processed_events where event_id = any($1::uuid[])",
            event_ids,
        )
    )


@dataclass
class Round:
    """What the module's one round of bad records produced (shared by the Kafka tests below)."""

    campaign_id: str
    cases: dict[str, list[Case]]
    minor: dict[str, Envelope]
    ghost: str  # a publish id no one created: results about it must change nothing
    ghost_events: list[Envelope]
    units_publish_id: str
    dead: dict[str, dict[tuple[str, str], Record]] = field(default_factory=dict)
    writes_before_good: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    units_view: dict[str, Any] | None = None
    good_publish_id: str = ""
    good: dict[str, Any] | str | None = None  # the good publish's final view, or why it has none
    status_events: list[Envelope] = field(default_factory=list)
    notification_events: list[Envelope] = field(default_factory=list)


def _wrong_units(stack: Stack, campaign_id: str) -> Envelope:
    """5,000,000 USD a day (2 ad sets of 2.5M): cents sent as dollars. Well-formed; the spend cap
    (ADRELAY_DAILY_SPEND_CAP, 10 000 a day) must reject it before any platform write."""
    body = command(stack, campaign_id=campaign_id)
    for ad_set in body["campaign"]["ad_sets"]:
        ad_set["budget"]["amount"]["amount_minor"] = 250_000_000
    cmd = PublishCampaign.model_validate(body)
    return Envelope.new(cmd, campaign_id=campaign_id)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bad_round(
    runtime_env: RuntimeEnv, stack: Stack, services: dict[str, ServiceProcess]
) -> AsyncIterator[Round]:
    bootstrap = runtime_env.bootstrap
    campaign_id = f"cmp-bad-{uuid.uuid4().hex[:10]}"
    key = campaign_id.encode()
    marks = await log_marks(stack)
    cases = cases_by_topic(stack, campaign_id)
    minor = newer_minor(campaign_id)
    ghost = _ghost()
    ghost_events = [
        Envelope.new(
            PlatformPublishProgressed(
                platform=Platform.META, step="campaign", step_state="succeeded", steps_done=1, steps_total=7
            ),
            campaign_id=campaign_id,
            publish_id=ghost,
        ),
        Envelope.new(
            PlatformPublishSucceeded(platform=Platform.META, external_ids=ExternalIds(campaign="1")),
            campaign_id=campaign_id,
            publish_id=ghost,
        ),
        Envelope.new(
            AdReviewChanged(
                platform=Platform.META,
                external_ad_id="120000000000000001",
                ad_id="ad-1-1",
                review="disapproved",
                violations=[PolicyViolation(kind="text", message="not a real ad")],
                source="webhook",
            ),
            campaign_id=campaign_id,
            publish_id=ghost,
        ),
    ]
    units = _wrong_units(stack, f"cmp-units-{uuid.uuid4().hex[:10]}")
    assert isinstance(units.payload, PublishCampaign)
    result = Round(
        campaign_id, cases, minor, ghost, ghost_events, publish_id_for(units.payload.idempotency_key)
    )
    async with Sender(bootstrap) as sender:
        for spec in CONSUMED:
            for case in cases[spec.key]:
                await sender.case(spec.name, key, case.name, case.value)
            if spec.key in minor:
                data = raw(minor[spec.key])
                data["schema_version"] = "1.9"
                data["payload"]["a_field_from_the_future"] = {"nested": [1, 2, 3]}
                await sender.send(spec.name, key, orjson.dumps(data))
        for event in ghost_events:
            await sender.envelope(event)
        await sender.envelope(units)

    wanted = {
        spec.key: {c.name: set(spec.consumers) for c in cases[spec.key] if not c.skip} for spec in CONSUMED
    }
    found = await asyncio.gather(
        *(dead_letters(bootstrap, spec.dlq_name, wanted[spec.key], timeout=30) for spec in CONSUMED)
    )
    result.dead = {spec.key: dead for spec, dead in zip(CONSUMED, found, strict=True)}
    try:
        result.units_view = await wait_status(services["orchestrator"], result.units_publish_id, timeout=30)
    except AssertionError:
        result.units_view = await view(services["orchestrator"], result.units_publish_id)
    result.writes_before_good = await writes_since(stack, marks)

    # The good publish of the same campaign: the same partition of every topic as the bad records.
    body = command(stack, campaign_id=campaign_id)
    result.good_publish_id = publish_id_for(body["idempotency_key"])
    try:
        await submit(services["orchestrator"], body)
        result.good = await wait_status(services["orchestrator"], result.good_publish_id, timeout=60)
    except AssertionError as exc:
        result.good = f"the good publish never finished: {exc}"
    good_id = result.good_publish_id

    def published(records: list[Record]) -> bool:
        return any(
            e.publish_id == good_id and getattr(e.payload, "status", None) == PublishStatus.PUBLISHED
            for e in envelopes(records, "PublishStatusChanged", campaign_id)
        )

    status_records = await read_topic(bootstrap, topics.STATUS.name, until=published, timeout=10)
    result.status_events = envelopes(status_records, "PublishStatusChanged", campaign_id)

    def noted(records: list[Record]) -> bool:
        return any(
            e.publish_id == good_id and getattr(e.payload, "kind", None) == "published"
            for e in envelopes(records, "NotificationRequested", campaign_id)
        )

    note_records = await read_topic(bootstrap, topics.NOTIFICATIONS.name, until=noted, timeout=10)
    result.notification_events = envelopes(note_records, campaign_id=campaign_id)
    yield result


def _letters_hold(result: Round, spec: TopicSpec) -> None:
    """Every bad record of `spec` was dead-lettered by each consumer with the reason, the original
    bytes and key, and the dlq.* headers; every skipped one was not."""
    dead = result.dead[spec.key]
    missing = [
        (c.name, consumer)
        for c in result.cases[spec.key]
        if not c.skip
        for consumer in spec.consumers
        if (c.name, consumer) not in dead
    ]
    assert not missing, f"{spec.name}: no dead letter for {missing}"
    for case in result.cases[spec.key]:
        for consumer in spec.consumers:
            letter = dead.get((case.name, consumer))
            if case.skip:
                assert letter is None, f"{case.name} was dead-lettered by {consumer}; it should be skipped"
                continue
            assert letter is not None
            reason = letter.headers["dlq.reason"].decode()
            reasons = (case.reason,) if isinstance(case.reason, str) else case.reason
            assert any(r in reason for r in reasons), (case.name, consumer, reason)
            kinds = (case.kind,) if isinstance(case.kind, str) else case.kind
            assert letter.headers["dlq.kind"].decode() in kinds, (case.name, letter.headers["dlq.kind"])
            assert letter.headers["dlq.source_topic"] == spec.name.encode()
            assert letter.headers["dlq.consumer"] == consumer.encode()
            assert letter.headers[CASE_HEADER] == case.name.encode()  # the record's own headers are kept
            assert letter.key == result.campaign_id.encode()
            assert letter.value == (case.value or b""), (
                f"{case.name}: the dead letter lost the original bytes"
            )


def _good_published(result: Round) -> dict[str, Any]:
    assert isinstance(result.good, dict), result.good
    assert result.good["status"] == "published", result.good
    return result.good


# ---- the consumed topics ---------------------------------------------------------------------------
async def test_invariant_7_commands_topic_bad_records_are_dead_lettered_and_the_orchestrator_keeps_consuming(
    bad_round: Round, db: asyncpg.Pool, services: dict[str, ServiceProcess]
) -> None:
    _letters_hold(bad_round, topics.COMMANDS)
    assert await db.fetchval("select count(*) from publishes where idempotency_key like 'bad-%'") == 0
    good = _good_published(bad_round)  # the command after the bad ones, on their partition
    assert good["campaign_id"] == bad_round.campaign_id
    assert services["orchestrator"].alive()


async def test_invariant_7_publish_requested_bad_records_are_dead_lettered_by_every_publisher_which_keep_publishing(
    bad_round: Round, db: asyncpg.Pool, services: dict[str, ServiceProcess]
) -> None:
    _letters_hold(bad_round, topics.PUBLISH_REQUESTED)
    ids = [c.publish_id for c in bad_round.cases[topics.PUBLISH_REQUESTED.key] if c.publish_id]
    assert len(ids) >= 5
    assert await db.fetchval("select count(*) from publisher_runs where publish_id = any($1)", ids) == 0
    good = _good_published(bad_round)
    for platform in PLATFORMS:
        assert good["platforms"][platform]["state"] == "active", (platform, good["platforms"][platform])
    assert all(services[p].alive() for p in PUBLISHERS)


async def test_invariant_7_platform_results_bad_records_are_dead_lettered_and_the_orchestrator_keeps_aggregating(
    bad_round: Round, services: dict[str, ServiceProcess]
) -> None:
    _letters_hold(bad_round, topics.PLATFORM_RESULTS)
    good = _good_published(bad_round)  # every platform's results after the bad ones were aggregated
    kinds = [e["kind"] for e in good["timeline"]]
    assert kinds.count("succeeded") == 3 and kinds.count("activated") == 3, kinds


async def test_invariant_7_platform_commands_bad_records_are_dead_lettered_and_publishers_still_activate(
    bad_round: Round, services: dict[str, ServiceProcess]
) -> None:
    _letters_hold(bad_round, topics.PLATFORM_COMMANDS)
    good = _good_published(bad_round)  # activation travels on platform-commands, after the bad records
    assert {p: good["platforms"][p]["state"] for p in PLATFORMS} == dict.fromkeys(PLATFORMS, "active")


async def test_invariant_7_status_bad_records_are_dead_lettered_and_the_tracker_keeps_consuming(
    bad_round: Round, db: asyncpg.Pool, services: dict[str, ServiceProcess]
) -> None:
    _letters_hold(bad_round, topics.STATUS)
    _good_published(bad_round)
    published = [
        e
        for e in bad_round.status_events
        if e.publish_id == bad_round.good_publish_id
        and getattr(e.payload, "status", None) == PublishStatus.PUBLISHED
    ]
    assert published, "the good publish's status `published` never reached the status topic"

    async def applied() -> bool:
        return bool(
            await db.fetchval(
                "select count(*) from processed_events where consumer = 'tracker' and event_id = $1",
                published[0].event_id,
            )
        )

    assert await wait_for(applied, timeout=10), "the tracker never applied the good status event"
    assert services["tracker"].alive()


async def test_invariant_7_notifications_bad_records_are_dead_lettered_and_the_orchestrator_keeps_notifying(
    bad_round: Round, db: asyncpg.Pool, services: dict[str, ServiceProcess]
) -> None:
    _letters_hold(bad_round, topics.NOTIFICATIONS)
    _good_published(bad_round)
    notes = [
        e
        for e in bad_round.notification_events
        if e.publish_id == bad_round.good_publish_id and getattr(e.payload, "kind", None) == "published"
    ]
    assert notes, "the good publish's success notification never reached the notifications topic"

    async def applied() -> bool:
        return bool(
            await db.fetchval(
                "select count(*) from processed_events where consumer = 'orchestrator' and event_id = $1",
                notes[0].event_id,
            )
        )

    assert await wait_for(applied, timeout=10), "the orchestrator never applied the good notification"


async def test_a_newer_minor_version_with_an_unknown_field_is_accepted_on_every_consumed_topic(
    bad_round: Round, db: asyncpg.Pool
) -> None:
    expected = {
        topics.COMMANDS.key: {"orchestrator"},
        topics.PLATFORM_RESULTS.key: {"orchestrator"},
        topics.PLATFORM_COMMANDS.key: set(PUBLISHERS),
        topics.STATUS.key: {"tracker"},
        topics.NOTIFICATIONS.key: {"orchestrator"},
    }
    for topic_key, envelope in bad_round.minor.items():
        rows = await inbox_rows(db, [envelope.event_id])
        assert {r["consumer"] for r in rows} == expected[topic_key], (topic_key, rows)
    command_minor = bad_round.minor[topics.COMMANDS.key]
    assert isinstance(command_minor.payload, PublishCampaign)
    row = await db.fetchrow(
        "select status from publishes where publish_id = $1",
        publish_id_for(command_minor.payload.idempotency_key),
    )
    assert row is not None, "the 1.9 command was not recorded"
    # A rollback for a publish that never started is recorded as such and answered, as designed.
    rollback = bad_round.minor[topics.PLATFORM_COMMANDS.key]
    run = await db.fetchrow(
        "select goal, request from publisher_runs where publish_id = $1 and platform = 'meta'",
        rollback.publish_id,
    )
    assert run is not None and run["goal"] == "rollback" and run["request"] is None


async def test_a_known_type_on_the_wrong_topic_and_an_unknown_type_are_skipped_not_applied(
    bad_round: Round, db: asyncpg.Pool
) -> None:
    _good_published(bad_round)  # every skipped record lies before the good publish on its partition
    skipped = [(spec, c) for spec in CONSUMED for c in bad_round.cases[spec.key] if c.skip]
    assert len(skipped) == 2 * len(CONSUMED)
    ids = [c.event_id for _, c in skipped if c.event_id is not None]
    rows = await inbox_rows(db, ids)
    # The wrong-topic envelopes are valid events of other topics: none may be applied where it landed.
    wrong = {(spec.consumers, c.event_id) for spec, c in skipped if c.event_id is not None}
    applied_wrongly = [
        r for r in rows if any(r["event_id"] == eid and r["consumer"] in cs for cs, eid in wrong)
    ]
    assert applied_wrongly == []
    for spec, case in skipped:
        for consumer in spec.consumers:
            assert (case.name, consumer) not in bad_round.dead[spec.key]


async def test_bad_records_write_nothing_anywhere(bad_round: Round, db: asyncpg.Pool) -> None:
    dead = [
        c for spec in CONSUMED for c in bad_round.cases[spec.key] if not c.skip and c.event_id is not None
    ]
    assert len(dead) >= 10
    assert await inbox_rows(db, [c.event_id for c in dead if c.event_id is not None]) == []
    publish_ids = [c.publish_id for spec in CONSUMED for c in bad_round.cases[spec.key] if c.publish_id]
    for table in ("publishes", "publish_runs", "publish_timeline", "publisher_runs"):
        count = await db.fetchval(f"select count(*) from {table} where publish_id = any($1)", publish_ids)
        assert count == 0, f"{table} has rows of bad records"
    assert (
        await db.fetchval(
            "select count(*) from campaigns where id = $1 and name like 'nnnn%'", bad_round.campaign_id
        )
        == 0
    )
    # Not one write call on any platform between the first bad record and the good publish (the
    # wrong-units publish included).
    assert bad_round.writes_before_good == {p: [] for p in PLATFORMS}


async def test_a_budget_in_the_wrong_units_is_rejected_by_the_spend_cap_with_a_field_path(
    bad_round: Round, db: asyncpg.Pool
) -> None:
    result = bad_round.units_view
    assert result is not None and result["status"] == "rejected", result
    errors = [i for i in result["issues"] if i["severity"] == "error"]
    capped = {i["platform"]: i for i in errors if "cap of 10000 USD" in i["message"]}
    assert set(capped) == set(PLATFORMS), errors
    for i, target in enumerate(PLATFORMS):
        assert capped[target]["path"] == f"targets[{i}]"
        assert "5000000.00 USD a day" in capped[target]["message"]
    assert (
        await db.fetchval(
            "select count(*) from publisher_runs where publish_id = $1", bad_round.units_publish_id
        )
        == 0
    )
    assert {run["state"] for run in result["platforms"].values()} <= {"pending"}
    assert "fanned_out" not in [e["kind"] for e in result["timeline"]]


async def test_results_about_a_publish_that_does_not_exist_change_nothing(
    bad_round: Round, db: asyncpg.Pool, runtime_env: RuntimeEnv
) -> None:
    """A heartbeat, a success and a disapproval for a publish id no one created: taken off the topic
    (ignored or dead-lettered), and nothing recorded or announced about that publish."""
    _good_published(bad_round)  # the ghost results lie before the good publish on their partition
    problems = []
    for table in ("publishes", "publish_runs", "publish_timeline"):
        written = await db.fetch(f"select * from {table} where publish_id = $1", bad_round.ghost)
        if written:
            kinds = [r["kind"] for r in written] if table == "publish_timeline" else []
            problems.append(f"{table} has {len(written)} row(s) about it {kinds}")
    announced = [
        f"{e.type} {getattr(e.payload, 'title', '')!r}"
        for e in bad_round.notification_events
        if e.publish_id == bad_round.ghost
    ]
    if announced:
        problems.append(f"notifications were emitted about it: {announced}")
    assert not problems, f"results about the unknown publish {bad_round.ghost}: " + "; ".join(problems)


async def test_a_10_mb_record_never_reaches_a_topic(runtime_env: RuntimeEnv) -> None:
    """Kafka's default limits (1 MiB) stop a 10 MB name before any consumer: the producer refuses it,
    and a producer configured past the limit is refused by the broker. The topic does not move."""
    cmd = publish_command()
    data = raw(cmd)
    data["payload"]["campaign"]["name"] = "n" * (10 * 1024 * 1024)
    value = orjson.dumps(data)
    topic = topics.COMMANDS.name
    before = await end_offsets(runtime_env.bootstrap, topic)
    with pytest.raises(MessageSizeTooLargeError):
        await produce(runtime_env.bootstrap, topic, value, key=cmd.key)
    producer = AIOKafkaProducer(
        bootstrap_servers=runtime_env.bootstrap, max_request_size=32 * 1024 * 1024, request_timeout_ms=10000
    )
    await producer.start()
    try:
        with pytest.raises(MessageSizeTooLargeError):
            await producer.send_and_wait(topic, value=value, key=cmd.key)
    finally:
        await producer.stop()
    assert await end_offsets(runtime_env.bootstrap, topic) == before


# ---- HTTP: the orchestrator's endpoints --------------------------------------------------------------
def _copy(body: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = orjson.loads(orjson.dumps(body))
    return copied


async def _big_chunks() -> AsyncIterator[bytes]:
    for _ in range(10):
        yield b" " * (1024 * 1024)


async def test_post_publishes_and_plan_refuse_bad_bodies_with_4xx_and_field_paths(
    stack: Stack, services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    base = command(stack)
    bodies: dict[str, tuple[dict[str, Any], int, str | None, str]] = {}

    def bad(
        name: str, status: int, path: str | None, text: str, change: Callable[[dict[str, Any]], None]
    ) -> None:
        body = _copy(base)
        body["idempotency_key"] = f"http-{name}-{uuid.uuid4().hex[:8]}"
        change(body)
        bodies[name] = (body, status, path, text)

    def negative(b: dict[str, Any]) -> None:
        b["campaign"]["ad_sets"][1]["budget"]["amount"]["amount_minor"] = -500

    bad(
        "negative-budget",
        422,
        "campaign.ad_sets.1.budget.amount.amount_minor",
        "greater than or equal to 0",
        negative,
    )
    bad("unknown-platform", 422, "targets.1", "myspace", lambda b: b["targets"][1].update(platform="myspace"))
    bad("missing-fields", 422, "campaign", "Field required", lambda b: b.pop("campaign"))
    bad("wrong-type", 422, "type", "PublishCampaign", lambda b: b.update(type="PublishStatusChanged"))
    bad("too-long-name", 422, "campaign.name", "at most 400", lambda b: b["campaign"].update(name="n" * 5000))
    bad("huge-amount", 422, "campaign.ad_sets.0.budget.amount.amount_minor", "integer", lambda b: None)
    marks = await log_marks(stack)
    async with httpx.AsyncClient(base_url=services["orchestrator"].url, timeout=60) as client:
        for endpoint in ("/publishes", "/plan"):
            for name, (body, status, path, text) in bodies.items():
                content = orjson.dumps(body)
                if name == "huge-amount":  # 10^40 cents: no integer type holds it
                    content = content.replace(
                        b'"amount_minor":5000', b'"amount_minor":' + b"1" + b"0" * 40, 1
                    )
                response = await client.post(
                    endpoint, content=content, headers={"Content-Type": "application/json"}
                )
                assert response.status_code == status, (endpoint, name, response.text)
                issues = response.json()["issues"]
                assert any(i["path"] == path and text in i["message"] for i in issues), (
                    endpoint,
                    name,
                    issues,
                )
            refusals = {
                "undecodable": (await client.post(endpoint, content=UNDECODABLE), 400, "not JSON"),
                "not-an-object": (await client.post(endpoint, content=b"[1, 2]"), 400, "JSON object"),
                "null": (await client.post(endpoint, content=b"null"), 400, "JSON object"),
                "empty": (await client.post(endpoint, content=b""), 400, "not JSON"),
                "10-mb-name": (
                    await client.post(
                        endpoint,
                        json={**base, "campaign": {**base["campaign"], "name": "n" * (10 * 1024 * 1024)}},
                    ),
                    413,
                    "over 1048576 bytes",
                ),
                "10-mb-chunked": (await client.post(endpoint, content=_big_chunks()), 413, "1048576"),
            }
            for name, (response, status, text) in refusals.items():
                assert response.status_code == status, (endpoint, name, response.text[:300])
                assert text in response.text, (endpoint, name, response.text[:300])
    keys = [body["idempotency_key"] for body, *_ in bodies.values()] + [base["idempotency_key"]]
    assert await db.fetchval("select count(*) from publishes where idempotency_key = any($1)", keys) == 0
    assert (
        await db.fetchval(
            "select count(*) from outbox where producer = 'orchestrator' and value like $1",
            f"%{base['campaign']['id']}%".encode(),
        )
        == 0
    )
    assert await writes_since(stack, marks) == {p: [] for p in PLATFORMS}


async def test_a_budget_in_the_wrong_units_over_http_is_a_plan_error_and_a_rejected_publish(
    stack: Stack, services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    body = command(stack)
    body["campaign"]["ad_sets"][0]["budget"]["amount"]["amount_minor"] = 500_000_000  # 5M USD a day
    marks = await log_marks(stack)
    async with httpx.AsyncClient(base_url=services["orchestrator"].url, timeout=60) as client:
        plan = await client.post("/plan", json=body)
    assert plan.status_code == 200, plan.text
    assert plan.json()["valid"] is False
    paths = {(i["path"], i["platform"]) for i in plan.json()["errors"] if "cap of 10000 USD" in i["message"]}
    assert paths == {(f"targets[{i}]", p) for i, p in enumerate(PLATFORMS)}, plan.json()["errors"]
    accepted = await submit(services["orchestrator"], body)
    result = await wait_status(services["orchestrator"], accepted["publish_id"], timeout=30)
    assert result["status"] == "rejected", result
    assert {i["path"] for i in result["issues"] if "cap of 10000 USD" in i["message"]} == {
        f"targets[{i}]" for i in range(3)
    }
    assert (
        await db.fetchval("select count(*) from publisher_runs where publish_id = $1", accepted["publish_id"])
        == 0
    )
    assert await writes_since(stack, marks) == {p: [] for p in PLATFORMS}


async def test_read_retry_and_cleanup_retry_refuse_bad_input_with_4xx(
    stack: Stack, services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    body = command(stack)
    body["campaign"]["ad_sets"][0]["budget"]["amount"]["amount_minor"] = 100  # $1/day: below every minimum
    accepted = await submit(services["orchestrator"], body)
    rejected = accepted["publish_id"]
    await wait_status(services["orchestrator"], rejected, {"rejected"}, timeout=30)
    timeline_before = await db.fetchval(
        "select count(*) from publish_timeline where publish_id = $1", rejected
    )
    unknown = f"pub-{uuid.uuid4().hex[:24]}"
    async with httpx.AsyncClient(base_url=services["orchestrator"].url, timeout=30) as client:
        checks: list[tuple[str, httpx.Response, int, str]] = [
            ("get unknown", await client.get(f"/publishes/{unknown}"), 404, unknown),
            ("get odd id", await client.get("/publishes/%FF%FE"), 404, "no publish"),
            ("get 10 kB id", await client.get("/publishes/" + "x" * 10_000), 400, ""),
            ("retry unknown", await client.post(f"/publishes/{unknown}/retry"), 404, unknown),
            (
                "retry undecodable",
                await client.post(f"/publishes/{rejected}/retry", content=UNDECODABLE),
                400,
                "JSON",
            ),
            (
                "retry platform",
                await client.post(f"/publishes/{rejected}/retry", json={"platform": "myspace"}),
                422,
                "myspace",
            ),
            (
                "retry platform type",
                await client.post(f"/publishes/{rejected}/retry", json={"platform": ["meta"]}),
                422,
                "unknown platform",
            ),
            (
                "retry rejected",
                await client.post(f"/publishes/{rejected}/retry", json={}),
                409,
                "nothing to retry",
            ),
            ("cleanup no body", await client.post(f"/publishes/{rejected}/cleanup-retry"), 422, "platform"),
            (
                "cleanup undecodable",
                await client.post(f"/publishes/{rejected}/cleanup-retry", content=UNDECODABLE),
                422,
                "platform",
            ),
            (
                "cleanup platform",
                await client.post(f"/publishes/{rejected}/cleanup-retry", json={"platform": "myspace"}),
                422,
                "platform",
            ),
            (
                "cleanup not an object",
                await client.post(f"/publishes/{rejected}/cleanup-retry", json=["meta"]),
                422,
                "platform",
            ),
            (
                "cleanup unknown",
                await client.post(f"/publishes/{unknown}/cleanup-retry", json={"platform": "meta"}),
                404,
                unknown,
            ),
            (
                "cleanup not needed",
                await client.post(f"/publishes/{rejected}/cleanup-retry", json={"platform": "meta"}),
                409,
                "does not need cleanup",
            ),
        ]
        after = await client.get(f"/publishes/{rejected}")
    for name, response, status, text in checks:
        assert response.status_code == status, (name, response.status_code, response.text[:300])
        assert text in response.text, (name, response.text[:300])
    assert after.json()["status"] == "rejected"
    assert await db.fetchval("select attempt from publishes where publish_id = $1", rejected) == 1
    assert (
        await db.fetchval("select count(*) from publish_timeline where publish_id = $1", rejected)
        == timeline_before
    )


async def test_connections_routes_refuse_bad_input_with_4xx_and_store_nothing(
    services: dict[str, ServiceProcess], db: asyncpg.Pool
) -> None:
    before = await db.fetchval("select count(*) from platform_connections")
    good = {"platform": "meta", "display_name": "x", "credentials": {"system_user_token": "EAAnotatoken"}}
    async with httpx.AsyncClient(base_url=services["orchestrator"].url, timeout=30) as client:
        checks: list[tuple[str, httpx.Response, int, str]] = [
            ("undecodable", await client.post("/connections", content=UNDECODABLE), 400, "JSON object"),
            ("not an object", await client.post("/connections", json=[good]), 400, "JSON object"),
            (
                "10 MB",
                await client.post("/connections", json={**good, "display_name": "n" * (10 * 1024 * 1024)}),
                413,
                "",
            ),
            (
                "no platform",
                await client.post("/connections", json={k: v for k, v in good.items() if k != "platform"}),
                400,
                "platform",
            ),
            (
                "unknown platform",
                await client.post("/connections", json={**good, "platform": "myspace"}),
                400,
                "myspace",
            ),
            (
                "no display name",
                await client.post("/connections", json={**good, "display_name": " "}),
                400,
                "display_name",
            ),
            (
                "no credentials",
                await client.post("/connections", json={**good, "credentials": {}}),
                400,
                "credentials",
            ),
            (
                "credentials not strings",
                await client.post("/connections", json={**good, "credentials": {"system_user_token": 5}}),
                400,
                "credentials",
            ),
            (
                "bad id",
                await client.post("/connections", json={**good, "id": "has spaces and ünïcode"}),
                400,
                "connection id",
            ),
            (
                "id 10 kB",
                await client.post("/connections", json={**good, "id": "a" * 10_000}),
                400,
                "connection id",
            ),
            ("id not a string", await client.post("/connections", json={**good, "id": 5}), 400, "id"),
            (
                "list unknown platform",
                await client.get("/connections", params={"platform": "myspace"}),
                400,
                "myspace",
            ),
            ("get unknown", await client.get("/connections/nope-nope"), 404, "nope-nope"),
            ("check unknown", await client.post("/connections/nope-nope/check"), 404, "nope-nope"),
            (
                "reauth unknown",
                await client.post("/connections/nope-nope/reauth", json={"credentials": {"a": "b"}}),
                404,
                "nope-nope",
            ),
            (
                "reauth undecodable",
                await client.post("/connections/demo-meta/reauth", content=UNDECODABLE),
                400,
                "JSON object",
            ),
            (
                "reauth credentials",
                await client.post("/connections/demo-meta/reauth", json={"credentials": "token"}),
                400,
                "credentials",
            ),
        ]
    for name, response, status, text in checks:
        assert response.status_code == status, (name, response.status_code, response.text[:300])
        assert text in response.text, (name, response.text[:300])
        if status != 413:
            assert response.json()["error"]["message"], name
    assert await db.fetchval("select count(*) from platform_connections") == before
    assert await db.fetchval("select status from platform_connections where id = 'demo-meta'") == "active"


async def test_a_nul_character_is_refused_with_a_4xx_never_a_500_or_a_silent_loss(
    stack: Stack, services: dict[str, ServiceProcess], runtime_env: RuntimeEnv
) -> None:
    """PostgreSQL text cannot hold U+0000. Input carrying it must be refused with a 4xx; a command the
    API accepts (202) must end with a status, not disappear into the dead-letter topic."""
    key_body = command(stack)
    key_body["idempotency_key"] = f"nul{NUL}key-{uuid.uuid4().hex[:8]}"
    name_body = command(stack)
    name_body["campaign"]["name"] = f"Spring{NUL}coffee"
    async with httpx.AsyncClient(base_url=services["orchestrator"].url, timeout=30) as client:
        responses = {
            "POST /publishes (NUL in the idempotency key)": await client.post("/publishes", json=key_body),
            "GET /publishes/%00": await client.get("/publishes/%00"),
            "GET /publishes?campaign_id=%00": await client.get("/publishes", params={"campaign_id": NUL}),
            "POST /publishes/%00/retry": await client.post("/publishes/%00/retry"),
            "POST /publishes/%00/cleanup-retry": await client.post(
                "/publishes/%00/cleanup-retry", json={"platform": "meta"}
            ),
            "GET /connections/%00": await client.get("/connections/%00"),
            "POST /connections/%00/check": await client.post("/connections/%00/check"),
            "POST /connections/%00/reauth": await client.post(
                "/connections/%00/reauth", json={"credentials": {"code": "x"}}
            ),
        }
        named = await client.post("/publishes", json=name_body)
    server_errors = {k: r.status_code for k, r in responses.items() if not 400 <= r.status_code < 500}
    problems = [f"{k} answered {status}" for k, status in server_errors.items()]
    if named.status_code in (200, 202):
        publish_id = named.json()["publish_id"]
        try:
            result = await wait_status(services["orchestrator"], publish_id, timeout=6)
            if result["status"] != "rejected":
                problems.append(f"a NUL in the campaign name ended {result['status']}, not rejected")
        except AssertionError:
            key = name_body["idempotency_key"].encode()
            dead = await read_topic(
                runtime_env.bootstrap,
                topics.COMMANDS.dlq_name,
                until=lambda rs: any(key in (r.value or b"") for r in rs),
                timeout=3,
            )
            reasons = [r.headers.get("dlq.reason", b"").decode() for r in dead if key in (r.value or b"")]
            problems.append(
                f"POST /publishes accepted a NUL in the campaign name (202, {publish_id}) but the publish "
                f"never got a status (GET answers 404); the command was dead-lettered: {reasons}"
            )
    elif not 400 <= named.status_code < 500:
        problems.append(f"POST /publishes (NUL in the campaign name) answered {named.status_code}")
    assert not problems, "; ".join(problems)


# ---- services of their own: records and commands at Kafka's size limit -------------------------------
@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def isolated(runtime_env: RuntimeEnv, stack: Stack) -> AsyncIterator[Isolated]:
    async with isolated_services(dict(runtime_env), ("orchestrator",)) as iso:
        yield iso


def _at_limit(key: bytes, headers: list[tuple[str, bytes]], build: Callable[[int], bytes]) -> bytes:
    """The largest `build(n)` the producer still takes (its estimate ≤ max_request_size)."""
    lo, hi = 1, KAFKA_MAX_REQUEST
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if DefaultRecordBatchBuilder.estimate_size_in_bytes(key, build(mid), headers) <= KAFKA_MAX_REQUEST:
            lo = mid
        else:
            hi = mid - 1
    return build(lo)


async def test_invariant_7_a_record_at_kafkas_size_limit_is_dead_lettered_and_the_consumer_goes_on(
    runtime_env: RuntimeEnv, isolated: Isolated
) -> None:
    """The largest name Kafka carries (≈1 MiB): invalid (names are at most 400 characters), so
    dead-lettered, and the command after it is applied."""
    good = publish_command()
    key = good.key
    data = raw(publish_command(campaign_id=good.campaign_id))
    headers = [(CASE_HEADER, b"name-at-the-limit")]

    def build(n: int) -> bytes:
        data["payload"]["campaign"]["name"] = "n" * n
        return orjson.dumps(data)

    value = _at_limit(key, headers, build)
    assert len(value) > 1_000_000
    await produce(runtime_env.bootstrap, isolated.topic(topics.COMMANDS), value, key=key, headers=headers)
    await produce(runtime_env.bootstrap, isolated.topic(topics.COMMANDS), encode(good), key=key)
    conn = await asyncpg.connect(isolated.database_url)
    try:

        async def applied() -> bool:
            return bool(
                await conn.fetchval(
                    "select count(*) from processed_events where event_id = $1", good.event_id
                )
            )

        went_on = await wait_for(applied, timeout=8)
    finally:
        await conn.close()
    dead = await dead_letters(
        runtime_env.bootstrap,
        isolated.dlq(topics.COMMANDS),
        {"name-at-the-limit": {"orchestrator"}},
        timeout=2,
    )
    log = isolated.procs["orchestrator"].log_text()
    stuck = [line for line in log.splitlines() if "dead-letter write failed" in line][-1:]
    assert dead and went_on, (
        f"a {len(value)}-byte record on {isolated.topic(topics.COMMANDS)}: dead-lettered={bool(dead)}, "
        f"the next command applied={went_on}; {stuck}"
    )


async def test_an_accepted_command_too_large_for_kafka_does_not_stop_the_outbox(
    runtime_env: RuntimeEnv, stack: Stack, isolated: Isolated
) -> None:
    """A valid command under the HTTP limit (1 MiB) whose event is over Kafka's (defaults are spelled
    out in the event): refused with a 4xx, or carried; either way the next command goes out."""
    body = command(stack)
    campaign = body["campaign"]
    ad_sets = []
    for s in range(50):
        ads = [
            {
                "id": f"a{s}-{a}",
                "name": "n",
                "creative": {
                    "id": f"c{s}-{a}",
                    "name": "n",
                    "media_id": "img-1",
                    "primary_text": "x" * 230,
                    "headline": "h",
                    "landing_url": "https://example.com",
                },
            }
            for a in range(50)
        ]
        ad_sets.append(
            {
                "id": f"s{s}",
                "name": "n",
                "targeting": {"countries": ["US"]},
                "budget": campaign["ad_sets"][0]["budget"],
                "ads": ads,
            }
        )
    campaign["ad_sets"] = ad_sets
    content = orjson.dumps(body)
    assert len(content) < MAX_BODY
    small = command(stack)
    async with httpx.AsyncClient(base_url=isolated.procs["orchestrator"].url, timeout=60) as client:
        big = await client.post("/publishes", content=content, headers={"Content-Type": "application/json"})
        after = await client.post("/publishes", json=small)
    assert big.status_code in (202, 413, 422), big.text[:300]
    assert after.status_code == 202, after.text[:300]
    event_id = after.json()["event_id"].encode()
    records = await read_topic(
        runtime_env.bootstrap,
        isolated.topic(topics.COMMANDS),
        until=lambda rs: any(event_id in (r.value or b"") for r in rs),
        timeout=8,
    )
    relayed = any(event_id in (r.value or b"") for r in records)
    log = isolated.procs["orchestrator"].log_text()
    stuck = [line for line in log.splitlines() if "outbox relay interrupted" in line][-1:]
    assert relayed, (
        f"POST /publishes answered {big.status_code} to a {len(content)}-byte command; the command "
        f"accepted after it never reached {isolated.topic(topics.COMMANDS)}: {stuck}"
    )
