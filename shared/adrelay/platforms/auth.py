"""What the connections module needs from each platform: connect, refresh, inspect, pre-flight.

Each platform implements `PlatformAuth` in `platforms/<platform>/auth.py` against its real OAuth and
account endpoints. Tokens pass through here and nowhere else: never into events, logs or errors.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adrelay.model import Platform
from adrelay.platforms.errors import PlatformException


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None  # None: does not expire
    refresh_expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list)  # ad accounts / advertisers the grant reaches
    token_type: str = "user"
    extra: dict[str, Any] = field(default_factory=dict)  # non-secret details (app id, user id)

    def __repr__(self) -> str:  # never print a token
        return f"TokenGrant(expires_at={self.expires_at}, scopes={self.scopes}, accounts={self.account_ids})"


@dataclass(frozen=True)
class TokenInfo:
    valid: bool
    expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass(frozen=True)
class AccountStatus:
    """Pre-flight of one ad account: reachable with this token, and able to spend."""

    account_id: str
    reachable: bool
    can_spend: bool
    currency: str | None = None
    timezone: str | None = None
    status: str | None = None  # the platform's own status value
    reason: str | None = None  # typed: not_reachable, disabled, unfunded, pending_review, closed, ...
    detail: str | None = None
    minimums: dict[str, Any] = field(default_factory=dict)  # platform minimums known for the account


class ReauthNeeded(PlatformException):
    """The token cannot be refreshed (expired, revoked, or the platform has no refresh): a person must
    re-authenticate."""


class PlatformAuth(abc.ABC):
    platform: Platform

    @abc.abstractmethod
    async def connect(self, credentials: dict[str, str]) -> TokenGrant:
        """Turn what the person brought (short-lived token, system-user token, auth code) into stored
        credentials. Meta: {"short_lived_token"} or {"system_user_token"}; TikTok: {"auth_code"};
        Snapchat: {"code"} (authorization code)."""

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """A fresh grant from a refresh token; the default is the platforms without refresh."""
        raise ReauthNeeded(f"{self.platform.value} tokens cannot be refreshed")

    @abc.abstractmethod
    async def inspect(self, access_token: str) -> TokenInfo:
        """Is the token valid, until when, with which scopes."""

    @abc.abstractmethod
    async def account_status(self, access_token: str, account_id: str) -> AccountStatus:
        """Pre-flight one ad account (reachable, can spend, currency, time zone)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients."""
