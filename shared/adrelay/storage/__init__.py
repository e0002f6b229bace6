"""PostgreSQL: the system of record. asyncpg for the services, Alembic for ordered migrations."""
