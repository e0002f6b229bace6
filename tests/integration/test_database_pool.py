"""The services' connection pool: a released connection costs no extra round trip (it carries no
session state to reset), and a transaction left open by a failure is still rolled back."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from adrelay.storage.db import Database
from tests.conftest import RuntimeEnv


async def test_releasing_a_connection_sends_nothing_and_an_aborted_transaction_is_rolled_back(
    runtime_env: RuntimeEnv, db: asyncpg.Pool
) -> None:
    database = Database(runtime_env.database_url, min_size=1, max_size=1)
    sent: list[str] = []
    try:
        async with database.connection() as conn:
            conn.add_query_logger(lambda record: sent.append(record.query))
            await conn.fetchval("select 1")
        async with database.connection() as again:  # the same (only) connection, back from the pool
            await again.fetchval("select 2")
        assert sent == ["select 1", "select 2"], "release sent a query"

        table = f"pool_probe_{uuid.uuid4().hex[:8]}"
        await db.execute(f"create table {table} (n int)")
        with pytest.raises(RuntimeError):
            async with database.connection() as conn:
                tx = conn.transaction()
                await tx.start()
                await conn.execute(f"insert into {table} values (1)")
                raise RuntimeError("a failure with the transaction open")
        async with database.connection() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval(f"select count(*) from {table}") == 0
        await db.execute(f"drop table {table}")
    finally:
        await database.close()
