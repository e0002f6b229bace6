"""Which topics the tracker consumes and what it does with them."""

from __future__ import annotations

import asyncpg

from adrelay import topics
from adrelay.events import Envelope
from adrelay.messaging.service import ServiceRuntime

SERVICE = "tracker"


def build() -> ServiceRuntime:
    runtime = ServiceRuntime(SERVICE)

    async def on_status(envelope: Envelope, conn: asyncpg.Connection) -> None:
        return None

    runtime.subscribe(topics.STATUS, on_status, {"PublishStatusChanged"})
    return runtime
