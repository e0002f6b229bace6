"""The engine's adapters get a connection's tokens through `ConnectionTokens` (a TokenSource)."""

from __future__ import annotations

import time

from adrelay.connections.manager import NO_CONTEXT, ConnectionManager, Context
from adrelay.platforms.base import TokenSource


class ConnectionTokens(TokenSource):
    """One connection, optionally for one publish (a ReauthRequired then carries its campaign id)."""

    def __init__(
        self,
        manager: ConnectionManager,
        connection_id: str,
        *,
        campaign_id: str | None = None,
        publish_id: str | None = None,
    ) -> None:
        self.manager = manager
        self.connection_id = connection_id
        self.context = Context(campaign_id, publish_id) if campaign_id or publish_id else NO_CONTEXT
        self._cached: tuple[str, float] | None = None

    # A publish makes many calls in a few seconds: the token is read (and decrypted) once per this
    # long, well inside the refresh margin; a refusal forgets it at once.
    CACHE_S = 20.0

    async def access_token(self) -> str:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[1] < self.CACHE_S:
            return self._cached[0]
        token = await self.manager.access_token(self.connection_id, self.context)
        self._cached = (token, now)
        return token

    async def after_auth_error(self, failed_token: str) -> str | None:
        self._cached = None
        return await self.manager.after_auth_error(self.connection_id, failed_token, self.context)

    def __repr__(self) -> str:
        return f"ConnectionTokens({self.connection_id})"
