"""Messaging foundation: the consumer inbox and the transactional outbox.

Revision ID: 0001_messaging
Revises:
"""

from alembic import op

revision = "0001_messaging"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    create table processed_events (
        consumer     text        not null,
        event_id     uuid        not null,
        event_type   text        not null,
        campaign_id  text,
        processed_at timestamptz not null default now(),
        primary key (consumer, event_id)
    );
    comment on table processed_events is
        'Consumer inbox: an event id is applied once per consumer, in the same transaction as its effects. '
        'Owner: each consuming service writes only the rows of its own consumer name.';

    create table outbox (
        id           bigserial   primary key,
        producer     text        not null,
        topic        text        not null,
        message_key  bytea       not null,
        event_id     uuid        not null,
        event_type   text        not null,
        value        bytea       not null,
        headers      jsonb       not null default '[]',
        created_at   timestamptz not null default now(),
        published_at timestamptz
    );
    create unique index outbox_event_id on outbox (producer, event_id);
    create index outbox_unpublished on outbox (producer, id) where published_at is null;
    comment on table outbox is
        'Transactional outbox: what a service emits after a database change, relayed to Kafka at least '
        'once with a stable event id. '
        'Owner: each producing service writes only rows of its own producer name.';
    """)


def downgrade() -> None:
    op.execute("drop table outbox; drop table processed_events;")
