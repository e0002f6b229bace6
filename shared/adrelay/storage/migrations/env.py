"""Alembic environment: plain SQL migrations, run online against DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
        with context.begin_transaction():
            # One migrator at a time, even when several replicas start together.
            context.execute("select pg_advisory_xact_lock(7281001)")
            context.run_migrations()


run_migrations_online()
