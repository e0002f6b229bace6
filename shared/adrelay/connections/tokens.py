"""The engine's adapters get a connection's tokens through `ConnectionTokens` (a TokenSource)."""

from __future__ import annotations

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

    async def access_token(self) -> str:
        return await self.manager.access_token(self.connection_id, self.context)

    async def after_auth_error(self, failed_token: str) -> str | None:
        return await self.manager.after_auth_error(self.connection_id, failed_token, self.context)

    def __repr__(self) -> str:
        return f"ConnectionTokens({self.connection_id})"
