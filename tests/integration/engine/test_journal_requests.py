"""A publish request and its rollback recorded at the same moment (invariant 4).

They travel on different topics, so a publisher may record both for one run in two concurrent
transactions. Whichever inserts the run first wins; the other waits for it, then applies itself to that
row instead of failing on the primary key, and the run ends up with the rollback as its goal either way.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from adrelay.engine.journal import Journal
from adrelay.events import CampaignPublishRequested, Envelope
from adrelay.messaging.outbox import Outbox
from adrelay.model import Platform
from adrelay.storage.db import Database
from tests.conftest import RuntimeEnv
from tests.support.samples import campaign, targets

PLATFORM = Platform.TIKTOK


def _request() -> tuple[str, Envelope, CampaignPublishRequested]:
    cmp = campaign()
    target = next(t for t in targets() if t.platform == PLATFORM)
    request = CampaignPublishRequested.model_validate(
        {"campaign": cmp.model_dump(mode="json"), "targets": [target.model_dump(mode="json")]}
    )
    publish_id = f"pub-journal-{uuid.uuid4().hex[:12]}"
    return publish_id, Envelope.new(request, campaign_id=cmp.id, publish_id=publish_id), request


async def _goal(db: Database, publish_id: str) -> tuple[str, bool]:
    async with db.connection() as conn:
        row = await conn.fetchrow(
            "select goal, request is not null as has_request from publisher_runs"
            " where publish_id = $1 and platform = $2",
            publish_id,
            PLATFORM.value,
        )
    assert row is not None
    return row["goal"], row["has_request"]


async def _second_waits_for_first(
    db: Database,
    first: Callable[[asyncpg.Connection], Awaitable[str]],
    second: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    """`first` writes in a transaction left open; `second`, started meanwhile, must wait for it, and
    finishes once it commits. Returns both outcomes."""
    pool = await db.pool()
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        first_outcome = await first(conn)
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second write must wait for the first one's uncommitted row"
        await tx.commit()
        return first_outcome, await asyncio.wait_for(waiting, 10)


async def test_invariant_4_a_rollback_racing_its_request_applies_to_the_request_run(
    runtime_env: RuntimeEnv,
) -> None:
    db = Database(runtime_env.database_url)
    journal = Journal(db, PLATFORM, owner="test", emit=Outbox("tiktok-publisher").add)
    publish_id, envelope, request = _request()
    try:
        queued, outcome = await _second_waits_for_first(
            db,
            lambda conn: journal.enqueue(conn, envelope, request),
            lambda: _set_goal(db, journal, publish_id, request),
        )
        assert queued == "queued"
        assert outcome != "rolled_back_before_start"
        assert await _goal(db, publish_id) == ("rollback", True)
    finally:
        await db.close()


async def test_invariant_4_a_request_racing_its_rollback_creates_nothing(runtime_env: RuntimeEnv) -> None:
    db = Database(runtime_env.database_url)
    journal = Journal(db, PLATFORM, owner="test", emit=Outbox("tiktok-publisher").add)
    publish_id, envelope, request = _request()
    try:
        rolled_back, outcome = await _second_waits_for_first(
            db,
            lambda conn: journal.set_goal(conn, publish_id, request.campaign.id, "rollback"),
            lambda: _enqueue(db, journal, envelope, request),
        )
        assert rolled_back == "rolled_back_before_start"
        assert outcome == "rolled_back"
        assert await _goal(db, publish_id) == ("rollback", False)
    finally:
        await db.close()


async def _set_goal(
    db: Database, journal: Journal, publish_id: str, request: CampaignPublishRequested
) -> str:
    async with db.transaction() as conn:
        return await journal.set_goal(conn, publish_id, request.campaign.id, "rollback")


async def _enqueue(
    db: Database, journal: Journal, envelope: Envelope, request: CampaignPublishRequested
) -> str:
    async with db.transaction() as conn:
        return await journal.enqueue(conn, envelope, request)
