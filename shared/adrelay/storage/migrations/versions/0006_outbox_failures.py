"""Outbox rows Kafka can never take (too large) are set aside with the reason, so they never block
the relay of everything after them.

Revision ID: 0006_outbox_failures
Revises: 0005_tracker
"""

from alembic import op

revision = "0006_outbox_failures"
down_revision = "0005_tracker"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    alter table outbox add column failed_reason text;
    drop index outbox_unpublished;
    create index outbox_unpublished on outbox (producer, id) where published_at is null and failed_reason is null;
    """)


def downgrade() -> None:
    op.execute("""
    drop index outbox_unpublished;
    create index outbox_unpublished on outbox (producer, id) where published_at is null;
    alter table outbox drop column failed_reason;
    """)
