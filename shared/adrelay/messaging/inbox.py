"""The consumer inbox: each event is applied at most once per consumer (invariant 2).

`claim` inserts the event id inside the transaction that applies the event's effects; a duplicate
delivery finds the row and applies nothing. Two concurrent deliveries of one event serialize on the
primary key: the second waits for the first to commit, then sees the conflict.
"""

from __future__ import annotations

import asyncpg

from adrelay.events import Envelope


async def claim(conn: asyncpg.Connection, consumer: str, envelope: Envelope) -> bool:
    """True the first time `consumer` sees this event id; False for every duplicate."""
    inserted = await conn.fetchval(
        """
        insert into processed_events (consumer, event_id, event_type, campaign_id)
        values ($1, $2, $3, $4)
        on conflict (consumer, event_id) do nothing
        returning true
        """,
        consumer,
        envelope.event_id,
        envelope.type,
        envelope.campaign_id,
    )
    return bool(inserted)
