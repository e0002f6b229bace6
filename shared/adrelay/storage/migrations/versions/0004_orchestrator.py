"""The orchestrator's records: campaigns, publishes (one per publish id), the per-platform aggregate
(publish_runs) and the timeline shown by `adrelay status`/`watch`.

Revision ID: 0004_orchestrator
Revises: 0003_engine
"""

from alembic import op

revision = "0004_orchestrator"
down_revision = "0003_engine"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    create table campaigns (
        id            text        primary key,
        name          text        not null,
        definition    jsonb       not null,
        status        text        not null,
        last_publish_id text,
        published_at  timestamptz,
        created_at    timestamptz not null default now(),
        updated_at    timestamptz not null default now()
    );
    comment on table campaigns is 'Campaigns as last submitted, with their status. Owner: the orchestrator.';

    create table publishes (
        publish_id      text        primary key,
        campaign_id     text        not null,
        idempotency_key text        not null unique,
        payload_hash    text        not null,
        command         jsonb       not null,
        status          text        not null,
        partial_failure_policy text not null,
        go_live_policy  text        not null,
        attempt         integer     not null default 1,
        issues          jsonb       not null default '[]',
        reason          text,
        next_check_at   timestamptz,
        lease_until     timestamptz,
        requested_by    text,
        created_at      timestamptz not null default now(),
        updated_at      timestamptz not null default now(),
        finished_at     timestamptz
    );
    create index publishes_campaign on publishes (campaign_id);
    create index publishes_due on publishes (next_check_at) where next_check_at is not null;
    comment on table publishes is
        'One row per publish (publish id = correlation id): idempotency key, status, policies, validation '
        'issues. Owner: the orchestrator.';

    create table publish_runs (
        publish_id        text        not null references publishes (publish_id),
        platform          text        not null,
        connection_id     text        not null,
        account_id        text        not null,
        state             text        not null,
        current_step      text,
        steps_done        integer     not null default 0,
        steps_total       integer     not null default 0,
        last_heartbeat_at timestamptz,
        wait_until        timestamptz,
        deadline_at       timestamptz,
        timed_out         boolean     not null default false,
        external_ids      jsonb       not null default '{}',
        error             jsonb,
        created_anything  boolean     not null default false,
        left_objects      jsonb       not null default '[]',
        review            jsonb       not null default '{}',
        updated_at        timestamptz not null default now(),
        primary key (publish_id, platform)
    );
    create index publish_runs_deadline on publish_runs (deadline_at) where deadline_at is not null;
    comment on table publish_runs is
        'The aggregate state of each publish per platform, fed by the publishers'' results and heartbeats. '
        'Owner: the orchestrator.';

    create table publish_timeline (
        id          bigserial   primary key,
        publish_id  text        not null,
        at          timestamptz not null default clock_timestamp(),
        platform    text,
        kind        text        not null,
        detail      jsonb       not null default '{}'
    );
    create index publish_timeline_publish on publish_timeline (publish_id, id);
    comment on table publish_timeline is 'What happened to a publish, in order. Owner: the orchestrator.';
    """)


def downgrade() -> None:
    op.execute(
        "drop table publish_timeline; drop table publish_runs; drop table publishes; drop table campaigns;"
    )
