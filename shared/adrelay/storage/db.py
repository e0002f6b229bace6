"""The asyncpg pool every service uses, and what counts as a transient database failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

log = logging.getLogger(__name__)

# Failures that go away by themselves (server restarting, connection lost, serialization conflicts).
TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "40001", "40P01", "55P03")


def is_transient_db_error(exc: BaseException) -> bool:
    if isinstance(
        exc,
        (
            asyncpg.exceptions.PostgresConnectionError,
            asyncpg.exceptions.InterfaceError,
            asyncpg.exceptions.CannotConnectNowError,
            asyncpg.exceptions.TooManyConnectionsError,
            ConnectionError,
            OSError,
            asyncio.TimeoutError,
        ),
    ):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(TRANSIENT_SQLSTATE_PREFIXES)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool connections carry no session state: session locks, LISTEN and SET live on dedicated
    connections (the outbox relay, the listeners). So a released connection skips asyncpg's reset
    query (unlock all, CLOSE ALL, UNLISTEN *, RESET ALL): one round trip less per database operation,
    on every step of a publish. An unfinished transaction is still rolled back by asyncpg itself."""


class Database:
    """A lazily created pool: a service starts even while PostgreSQL is down, and recovers."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    command_timeout=30,
                    timeout=5,
                    max_inactive_connection_lifetime=60,
                    reset=_keep_session,
                )
        return self._pool

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = await self.pool()
        async with pool.acquire() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            yield conn

    async def ping(self, timeout: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                async with self.connection() as conn:
                    await conn.fetchval("select 1")
            return True
        except Exception:
            return False

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), timeout=5)
