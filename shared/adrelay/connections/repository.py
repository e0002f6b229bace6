"""SQL for `platform_connections` (the connections module is its only writer). Every function takes
the caller's connection, so the caller decides the transaction (refresh and re-auth marking hold the
row lock across the platform call and the outbox write)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from adrelay.connections.models import Connection, ConnectionStatus
from adrelay.model import Platform

_VIEW_COLUMNS = """
    id, platform, display_name, status, status_reason, token_type, expires_at, refresh_expires_at,
    refresh_token_enc is not null as refreshable, scopes, ad_account_ids, app_id, key_id,
    last_checked_at, last_check_ok, last_check, last_refreshed_at, created_at, updated_at, version
"""


@dataclass(frozen=True)
class StoredConnection:
    """A row with its ciphertexts (useless without a key); only the manager sees this."""

    view: Connection
    access_enc: bytes | None  # None once revoked
    refresh_enc: bytes | None

    def __repr__(self) -> str:
        return f"StoredConnection({self.view.id}, {self.view.platform.value}, {self.view.status.value})"


def _view(row: asyncpg.Record) -> Connection:
    last_check = row["last_check"]
    return Connection(
        id=row["id"],
        platform=Platform(row["platform"]),
        display_name=row["display_name"],
        status=ConnectionStatus(row["status"]),
        status_reason=row["status_reason"],
        token_type=row["token_type"],
        expires_at=row["expires_at"],
        refresh_expires_at=row["refresh_expires_at"],
        refreshable=row["refreshable"],
        scopes=list(row["scopes"] or []),
        ad_account_ids=list(row["ad_account_ids"] or []),
        app_id=row["app_id"],
        key_id=row["key_id"],
        last_checked_at=row["last_checked_at"],
        last_check_ok=row["last_check_ok"],
        last_check=orjson.loads(last_check) if isinstance(last_check, str | bytes) else last_check,
        last_refreshed_at=row["last_refreshed_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


async def insert(
    conn: asyncpg.Connection,
    *,
    connection_id: str,
    platform: Platform,
    display_name: str,
    access_enc: bytes,
    refresh_enc: bytes | None,
    key_id: str,
    token_type: str,
    expires_at: datetime | None,
    refresh_expires_at: datetime | None,
    scopes: list[str],
    ad_account_ids: list[str],
    app_id: str | None,
    details: dict[str, Any],
) -> bool:
    """False when the id is taken."""
    done = await conn.fetchval(
        """
        insert into platform_connections (
            id, platform, display_name, access_token_enc, refresh_token_enc, key_id, token_type,
            expires_at, refresh_expires_at, scopes, ad_account_ids, app_id, details)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)
        on conflict (id) do nothing
        returning true
        """,
        connection_id,
        platform.value,
        display_name,
        access_enc,
        refresh_enc,
        key_id,
        token_type,
        expires_at,
        refresh_expires_at,
        scopes,
        ad_account_ids,
        app_id,
        orjson.dumps(details).decode(),
    )
    return bool(done)


async def get(
    conn: asyncpg.Connection, connection_id: str, *, for_update: bool = False
) -> StoredConnection | None:
    row = await conn.fetchrow(
        f"select {_VIEW_COLUMNS}, access_token_enc, refresh_token_enc from platform_connections where id = $1"
        + (" for update" if for_update else ""),
        connection_id,
    )
    if row is None:
        return None
    access, refresh = row["access_token_enc"], row["refresh_token_enc"]
    return StoredConnection(
        _view(row), bytes(access) if access is not None else None, bytes(refresh) if refresh else None
    )


async def list_all(conn: asyncpg.Connection, platform: Platform | None = None) -> list[Connection]:
    rows = await conn.fetch(
        f"select {_VIEW_COLUMNS} from platform_connections where $1::text is null or platform = $1 "
        "order by created_at, id",
        platform.value if platform else None,
    )
    return [_view(r) for r in rows]


async def store_grant(
    conn: asyncpg.Connection,
    connection_id: str,
    *,
    access_enc: bytes,
    refresh_enc: bytes | None,
    key_id: str,
    expires_at: datetime | None,
    refresh_expires_at: datetime | None,
    refreshed: bool,
    token_type: str | None = None,
    scopes: list[str] | None = None,
    ad_account_ids: list[str] | None = None,
) -> None:
    """New tokens (a refresh or a re-authentication): the access AND refresh token in one write; the
    connection is active again."""
    await conn.execute(
        """
        update platform_connections set
            access_token_enc = $2, refresh_token_enc = $3, key_id = $4, expires_at = $5,
            refresh_expires_at = $6,
            last_refreshed_at = case when $7 then now() else last_refreshed_at end,
            token_type = coalesce($8, token_type), scopes = coalesce($9, scopes),
            ad_account_ids = coalesce($10, ad_account_ids),
            status = 'active', status_reason = null, updated_at = now(), version = version + 1
        where id = $1
        """,
        connection_id,
        access_enc,
        refresh_enc,
        key_id,
        expires_at,
        refresh_expires_at,
        refreshed,
        token_type,
        scopes,
        ad_account_ids,
    )


async def mark_reauth_required(
    conn: asyncpg.Connection, connection_id: str, reason: str
) -> Connection | None:
    """Active → reauth_required; None when it was not active (someone marked it first)."""
    row = await conn.fetchrow(
        f"""
        update platform_connections set status = 'reauth_required', status_reason = $2,
            updated_at = now(), version = version + 1
        where id = $1 and status = 'active'
        returning {_VIEW_COLUMNS}
        """,
        connection_id,
        reason,
    )
    return _view(row) if row is not None else None


async def revoke(conn: asyncpg.Connection, connection_id: str, reason: str) -> Connection | None:
    """Erase the tokens and mark the connection revoked; None when it was revoked already."""
    row = await conn.fetchrow(
        f"""
        update platform_connections set status = 'revoked', status_reason = $2,
            access_token_enc = null, refresh_token_enc = null, expires_at = null,
            refresh_expires_at = null, updated_at = now(), version = version + 1
        where id = $1 and status <> 'revoked'
        returning {_VIEW_COLUMNS}
        """,
        connection_id,
        reason,
    )
    return _view(row) if row is not None else None


async def record_check(
    conn: asyncpg.Connection,
    connection_id: str,
    *,
    ok: bool,
    result: dict[str, Any],
    scopes: list[str] | None,
    ad_account_ids: list[str] | None,
    expires_at: datetime | None,
) -> None:
    await conn.execute(
        """
        update platform_connections set
            last_checked_at = now(), last_check_ok = $2, last_check = $3::jsonb,
            scopes = coalesce($4, scopes), ad_account_ids = coalesce($5, ad_account_ids),
            expires_at = coalesce($6, expires_at), updated_at = now(), version = version + 1
        where id = $1
        """,
        connection_id,
        ok,
        orjson.dumps(result).decode(),
        scopes,
        ad_account_ids,
        expires_at,
    )


async def under_other_keys(
    conn: asyncpg.Connection, current_key_id: str, exclude: list[str], limit: int
) -> list[asyncpg.Record]:
    """Rows not under the newest key, locked for re-encryption."""
    return list(
        await conn.fetch(
            """
            select id, key_id, access_token_enc, refresh_token_enc from platform_connections
            where key_id <> $1 and access_token_enc is not null and not (id = any($2::text[]))
            order by id limit $3
            for update
            """,
            current_key_id,
            exclude,
            limit,
        )
    )


async def reencrypted(
    conn: asyncpg.Connection, connection_id: str, access_enc: bytes, refresh_enc: bytes | None, key_id: str
) -> None:
    await conn.execute(
        """
        update platform_connections set access_token_enc = $2, refresh_token_enc = $3, key_id = $4,
            updated_at = now(), version = version + 1
        where id = $1
        """,
        connection_id,
        access_enc,
        refresh_enc,
        key_id,
    )
