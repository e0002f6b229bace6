"""What a connection looks like outside the connections module: everything but its tokens."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from adrelay.model import Platform
from adrelay.platforms.auth import AccountStatus, TokenInfo

# An Identifier short enough that `connection:<id>` (the event key outside a publish) is one too.
CONNECTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,52}$")


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    REAUTH_REQUIRED = "reauth_required"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Connection:
    """A platform connection as listings, the HTTP surface and the CLI show it. Never a token."""

    id: str
    platform: Platform
    display_name: str
    status: ConnectionStatus
    status_reason: str | None
    token_type: str
    expires_at: datetime | None
    refresh_expires_at: datetime | None
    refreshable: bool
    scopes: list[str]
    ad_account_ids: list[str]
    app_id: str | None
    key_id: str
    last_checked_at: datetime | None
    last_check_ok: bool | None
    last_check: dict[str, Any] | None
    last_refreshed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        out["platform"] = self.platform.value
        out["status"] = self.status.value
        return out


@dataclass(frozen=True)
class CheckResult:
    """`check`: the token's inspection and the pre-flight of every account the connection reaches."""

    connection: Connection
    token: TokenInfo
    accounts: list[AccountStatus] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.token.valid and all(a.can_spend for a in self.accounts)

    def to_json(self) -> dict[str, Any]:
        return {
            "connection": self.connection.to_json(),
            "ok": self.ok,
            "token": token_json(self.token),
            "accounts": [asdict(a) for a in self.accounts],
        }


def token_json(info: TokenInfo) -> dict[str, Any]:
    """TokenInfo for storage and display (it holds no token, only what was learned about one)."""
    return {
        "valid": info.valid,
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
        "scopes": list(info.scopes),
        "account_ids": list(info.account_ids),
        "reason": info.reason,
    }
