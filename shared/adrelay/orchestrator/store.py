"""The orchestrator's tables: publishes, the per-platform aggregate, campaigns, the timeline."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from adrelay.events import PublishCampaign
from adrelay.events.payloads import ExternalIds, LeftObject, PlatformError, PlatformState, PublishStatus
from adrelay.model import GoLivePolicy, PartialFailurePolicy, Platform
from adrelay.orchestrator.domain import PlatformRun, PublishState


def publish_id_for(idempotency_key: str) -> str:
    """The publish id follows from the idempotency key, so a caller knows it at once."""
    return "pub-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


def payload_hash(command: PublishCampaign) -> str:
    body = command.model_dump(mode="json", exclude={"requested_by"})
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _load(value: Any) -> Any:
    if value is None or isinstance(value, (dict, list)):
        return value
    return orjson.loads(value)


async def find_by_key(conn: asyncpg.Connection, idempotency_key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "select publish_id, payload_hash, status from publishes where idempotency_key = $1", idempotency_key
    )


async def create_publish(conn: asyncpg.Connection, publish_id: str, command: PublishCampaign) -> None:
    campaign = command.campaign
    await conn.execute(
        """
        insert into publishes (publish_id, campaign_id, idempotency_key, payload_hash, command, status,
                               partial_failure_policy, go_live_policy, next_check_at, requested_by)
        values ($1, $2, $3, $4, $5::jsonb, 'received', $6, $7, now(), $8)
        """,
        publish_id,
        campaign.id,
        command.idempotency_key,
        payload_hash(command),
        _json(command.model_dump(mode="json")),
        command.partial_failure_policy.value,
        command.go_live_policy.value,
        command.requested_by,
    )
    for target in command.targets:
        account = target.account_id
        await conn.execute(
            """
            insert into publish_runs (publish_id, platform, connection_id, account_id, state)
            values ($1, $2, $3, $4, 'pending')
            """,
            publish_id,
            target.platform.value,
            target.connection_id,
            str(account),
        )
    await conn.execute(
        """
        insert into campaigns (id, name, definition, status, last_publish_id) values ($1, $2, $3::jsonb, 'received', $4)
        on conflict (id) do update set name = excluded.name, definition = excluded.definition,
            status = 'received', last_publish_id = excluded.last_publish_id, updated_at = now()
        """,
        campaign.id,
        campaign.name,
        _json(campaign.model_dump(mode="json")),
        publish_id,
    )


async def exists(conn: asyncpg.Connection, publish_id: str) -> bool:
    return bool(await conn.fetchval("select true from publishes where publish_id = $1", publish_id))


async def command_of(conn: asyncpg.Connection, publish_id: str) -> PublishCampaign:
    raw = await conn.fetchval("select command from publishes where publish_id = $1", publish_id)
    return PublishCampaign.model_validate(_load(raw))


async def load(conn: asyncpg.Connection, publish_id: str, *, lock: bool = True) -> PublishState | None:
    row = await conn.fetchrow(
        "select * from publishes where publish_id = $1" + (" for update" if lock else ""), publish_id
    )
    if row is None:
        return None
    runs = await conn.fetch("select * from publish_runs where publish_id = $1", publish_id)
    return PublishState(
        publish_id=publish_id,
        campaign_id=row["campaign_id"],
        status=PublishStatus(row["status"]),
        partial_failure_policy=PartialFailurePolicy(row["partial_failure_policy"]),
        go_live_policy=GoLivePolicy(row["go_live_policy"]),
        runs={Platform(r["platform"]): _run(r) for r in runs},
    )


def _run(row: asyncpg.Record) -> PlatformRun:
    error = _load(row["error"])
    return PlatformRun(
        platform=Platform(row["platform"]),
        state=PlatformState(row["state"]),
        created_anything=row["created_anything"],
        error=PlatformError.model_validate(error) if error else None,
        external_ids=ExternalIds.model_validate(_load(row["external_ids"]) or {}),
        timed_out=row["timed_out"],
        left=[LeftObject.model_validate(x) for x in _load(row["left_objects"]) or []],
    )


async def save(conn: asyncpg.Connection, state: PublishState, *, reason: str | None = None) -> None:
    terminal = state.status.terminal
    await conn.execute(
        """
        update publishes set status = $2, reason = coalesce($3, reason), updated_at = now(),
               finished_at = case when $4 then coalesce(finished_at, now()) else null end,
               next_check_at = case when $4 then null else next_check_at end
        where publish_id = $1
        """,
        state.publish_id,
        state.status.value,
        reason,
        terminal,
    )
    for run in state.runs.values():
        await conn.execute(
            """
            update publish_runs set state = $3, created_anything = $4, error = $5::jsonb, external_ids = $6::jsonb,
                   timed_out = $7, left_objects = $8::jsonb, updated_at = now(),
                   deadline_at = case when $3 in ('publishing', 'pending') then deadline_at else null end
            where publish_id = $1 and platform = $2
            """,
            state.publish_id,
            run.platform.value,
            run.state.value,
            run.created_anything,
            _json(run.error.model_dump(mode="json")) if run.error else None,
            _json(run.external_ids.model_dump(mode="json")),
            run.timed_out,
            _json([x.model_dump(mode="json") for x in run.left]),
        )
    await conn.execute(
        """
        update campaigns set status = $2, updated_at = now(),
               published_at = case when $2 = 'published' then now() else published_at end
        where id = $1 and last_publish_id = $3
        """,
        state.campaign_id,
        state.status.value,
        state.publish_id,
    )


async def heartbeat(
    conn: asyncpg.Connection,
    publish_id: str,
    platform: Platform,
    step: str,
    done: int,
    total: int,
    wait_until: datetime | None,
    deadline_s: float,
) -> None:
    """A sign of life: the platform's deadline moves to `deadline_s` after it (or after its wait)."""
    await conn.execute(
        """
        update publish_runs set last_heartbeat_at = now(), current_step = $3,
               steps_done = greatest(steps_done, $4), steps_total = greatest(steps_total, $5), wait_until = $6,
               deadline_at = case when state in ('publishing', 'pending')
                   then greatest(now(), coalesce($6, now())) + make_interval(secs => $7) else null end,
               updated_at = now()
        where publish_id = $1 and platform = $2
        """,
        publish_id,
        platform.value,
        step,
        done,
        total,
        wait_until,
        deadline_s,
    )


async def start_deadlines(conn: asyncpg.Connection, publish_id: str, deadline_s: float) -> None:
    await conn.execute(
        """
        update publish_runs set deadline_at = now() + make_interval(secs => $2), last_heartbeat_at = now()
        where publish_id = $1 and state in ('publishing', 'pending')
        """,
        publish_id,
        deadline_s,
    )


async def overdue(conn: asyncpg.Connection, limit: int = 100) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        select publish_id, platform, extract(epoch from now() - coalesce(last_heartbeat_at, updated_at)) as silent_s
        from publish_runs where deadline_at < now() and state in ('publishing', 'pending')
        order by deadline_at limit $1
        """,
        limit,
    )


async def record_review(
    conn: asyncpg.Connection, publish_id: str, platform: Platform, ad_key: str, review: dict[str, Any]
) -> None:
    await conn.execute(
        """
        update publish_runs set review = review || jsonb_build_object($3::text, $4::jsonb), updated_at = now()
        where publish_id = $1 and platform = $2
        """,
        publish_id,
        platform.value,
        ad_key,
        _json(review),
    )


async def timeline(
    conn: asyncpg.Connection, publish_id: str, kind: str, platform: Platform | None = None, **detail: Any
) -> None:
    await conn.execute(
        "insert into publish_timeline (publish_id, platform, kind, detail) values ($1, $2, $3, $4::jsonb)",
        publish_id,
        platform.value if platform else None,
        kind,
        _json(detail),
    )


async def set_issues(conn: asyncpg.Connection, publish_id: str, issues: list[dict[str, Any]]) -> None:
    await conn.execute(
        "update publishes set issues = $2::jsonb where publish_id = $1", publish_id, _json(issues)
    )


async def schedule_check(conn: asyncpg.Connection, publish_id: str, after_s: float | None) -> None:
    await conn.execute(
        """
        update publishes set next_check_at = case when $2::float8 is null then null
                                                  else now() + make_interval(secs => $2) end,
               lease_until = null
        where publish_id = $1
        """,
        publish_id,
        after_s,
    )


async def claim_checks(conn: asyncpg.Connection, limit: int, lease_s: float) -> list[str]:
    """Publishes due for validation/pre-flight (received) or a re-auth recheck (awaiting_reauth)."""
    rows = await conn.fetch(
        """
        update publishes p set lease_until = now() + make_interval(secs => $2)
        from (
            select publish_id from publishes
            where next_check_at <= now() and status in ('received', 'awaiting_reauth')
              and (lease_until is null or lease_until < now())
            order by next_check_at limit $1 for update skip locked
        ) due where p.publish_id = due.publish_id
        returning p.publish_id
        """,
        limit,
        lease_s,
    )
    return [r["publish_id"] for r in rows]


async def view(conn: asyncpg.Connection, publish_id: str) -> dict[str, Any] | None:
    """The read side: state per platform, every external id, every error, the timeline."""
    row = await conn.fetchrow("select * from publishes where publish_id = $1", publish_id)
    if row is None:
        return None
    runs = await conn.fetch("select * from publish_runs where publish_id = $1 order by platform", publish_id)
    events = await conn.fetch(
        "select at, platform, kind, detail from publish_timeline where publish_id = $1 order by id",
        publish_id,
    )
    command = _load(row["command"])
    return {
        "publish_id": publish_id,
        "campaign_id": row["campaign_id"],
        "campaign_name": command["campaign"]["name"],
        "status": row["status"],
        "reason": row["reason"],
        "partial_failure_policy": row["partial_failure_policy"],
        "go_live_policy": row["go_live_policy"],
        "issues": _load(row["issues"]),
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "platforms": {
            r["platform"]: {
                "state": r["state"],
                "connection_id": r["connection_id"],
                "account_id": r["account_id"],
                "current_step": r["current_step"],
                "steps_done": r["steps_done"],
                "steps_total": r["steps_total"],
                "last_heartbeat_at": r["last_heartbeat_at"].isoformat() if r["last_heartbeat_at"] else None,
                "wait_until": r["wait_until"].isoformat() if r["wait_until"] else None,
                "timed_out": r["timed_out"],
                "external_ids": _load(r["external_ids"]),
                "error": _load(r["error"]),
                "left_objects": _load(r["left_objects"]),
                "review": _load(r["review"]),
            }
            for r in runs
        },
        "timeline": [
            {
                "at": e["at"].isoformat(),
                "platform": e["platform"],
                "kind": e["kind"],
                **(_load(e["detail"]) or {}),
            }
            for e in events
        ],
    }


def later(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
