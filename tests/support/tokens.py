"""A fixed token for adapter-level tests (the connections module supplies real ones in the services)."""

from __future__ import annotations

from adrelay.platforms.base import TokenSource


class StaticTokens(TokenSource):
    def __init__(self, token: str, refreshed: str | None = None) -> None:
        self.token = token
        self.refreshed = refreshed
        self.auth_errors = 0

    async def access_token(self) -> str:
        return self.token

    async def after_auth_error(self, failed_token: str) -> str | None:
        self.auth_errors += 1
        if self.refreshed and failed_token != self.refreshed:
            self.token = self.refreshed
            return self.refreshed
        return None
