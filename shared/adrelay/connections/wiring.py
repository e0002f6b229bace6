"""How a service gets its ConnectionManager (one per process; it holds the pre-flight cache)."""

from __future__ import annotations

from adrelay.connections.manager import ConnectionManager
from adrelay.messaging.service import ServiceRuntime
from adrelay.platforms.http import Limiter
from adrelay.platforms.settings import PlatformSettings


def connections_for(
    runtime: ServiceRuntime, settings: PlatformSettings, limiter: Limiter | None = None
) -> ConnectionManager:
    """The service's manager on its own database pool; keys from ADRELAY_TOKEN_KEYS (a clear error
    at start when none is set). The service relays outbox producer `connections` (PRODUCER)."""
    return ConnectionManager(runtime.db, settings, limiter=limiter)
