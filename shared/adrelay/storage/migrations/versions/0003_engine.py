"""The publishing engine: publisher runs (leases, fencing), the step journal, media uploads, external
ids, manual cleanup, and the shared rate limiter.

Revision ID: 0003_engine
Revises: 0002_connections
"""

from alembic import op

revision = "0003_engine"
down_revision = "0002_connections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    create table publisher_runs (
        publish_id      text        not null,
        platform        text        not null,
        campaign_id     text        not null,
        request         jsonb,  -- null for a rollback that arrived before its publish request
        goal            text        not null default 'publish',
        state           text        not null default 'queued',
        lease_owner     text,
        lease_expires_at timestamptz,
        fencing_token   bigint      not null default 0,
        next_attempt_at timestamptz not null default now(),
        attempt         integer     not null default 1,
        last_error      jsonb,
        result          jsonb,
        created_at      timestamptz not null default now(),
        updated_at      timestamptz not null default now(),
        primary key (publish_id, platform)
    );
    create index publisher_runs_runnable on publisher_runs (platform, next_attempt_at)
        where state in ('queued', 'running', 'waiting', 'rolling_back', 'activating');
    comment on table publisher_runs is
        'One platform publish (and its rollback or activation) driven by a publisher runner: lease with '
        'heartbeat, fencing token checked on every journal write, durable timer in next_attempt_at. '
        'Owner: the publishers (each writes only rows of its own platform).';

    create table publish_steps (
        publish_id      text        not null,
        platform        text        not null,
        step_key        text        not null,
        kind            text        not null,
        tag             text        not null,
        state           text        not null default 'pending',
        external_id     text,
        data            jsonb       not null default '{}',
        attempts        integer     not null default 0,
        started_at      timestamptz,
        started_token   bigint,
        outcome_unknown boolean     not null default false,
        finished_at     timestamptz,
        deleted_at      timestamptz,
        error           jsonb,
        primary key (publish_id, platform, step_key),
        foreign key (publish_id, platform) references publisher_runs (publish_id, platform)
    );
    comment on table publish_steps is
        'The journal: intent (state started, with the deterministic tag) is written before each platform '
        'create, the external id after it. Owner: the publishers.';

    create table media_uploads (
        platform        text        not null,
        account_id      text        not null,
        sha256          text        not null,
        external_id     text        not null,
        data            jsonb       not null default '{}',
        created_at      timestamptz not null default now(),
        primary key (platform, account_id, sha256)
    );
    comment on table media_uploads is
        'Media uploaded once per (platform account, content hash) and reused across campaigns. '
        'Owner: the publishers.';

    create table campaign_platform_data (
        publish_id            text        not null,
        platform              text        not null,
        campaign_id           text        not null,
        external_campaign_id  text,
        external_adset_ids    jsonb       not null default '{}',
        external_ad_ids       jsonb       not null default '{}',
        metadata              jsonb       not null default '{}',
        status                text        not null,
        updated_at            timestamptz not null default now(),
        primary key (publish_id, platform)
    );
    create index campaign_platform_data_campaign on campaign_platform_data (campaign_id);
    comment on table campaign_platform_data is
        'External ids per publish and platform (campaign, ad sets, ads; creatives and media in metadata), '
        'as in the seed. Owner: the publishers.';

    create table manual_cleanup (
        id              bigserial   primary key,
        publish_id      text        not null,
        platform        text        not null,
        kind            text        not null,
        external_id     text        not null,
        reason          text        not null,
        created_at      timestamptz not null default now(),
        resolved_at     timestamptz,
        resolution      text,
        unique (publish_id, platform, external_id)
    );
    comment on table manual_cleanup is
        'Objects a rollback could not remove, and why. Owner: the publishers.';

    create table rate_limits (
        platform        text        not null,
        scope           text        not null,
        tokens          double precision not null,
        updated_at      timestamptz not null default clock_timestamp(),
        blocked_until   timestamptz,
        usage_pct       double precision,
        primary key (platform, scope)
    );
    comment on table rate_limits is
        'Rate-limit headroom per platform scope (ad account, app, endpoint, token), shared by every '
        'replica. Owner: the rate limiter library (adrelay.engine.ratelimit), written only through '
        'adrelay_rate_acquire and adrelay_rate_block.';

    create function adrelay_rate_acquire(p_platform text, p_scope text, p_rate double precision,
                                         p_burst double precision) returns double precision
    language plpgsql as $$
    declare
        now_ts timestamptz := clock_timestamp();
        row rate_limits%rowtype;
        available double precision;
    begin
        insert into rate_limits (platform, scope, tokens, updated_at)
        values (p_platform, p_scope, p_burst, now_ts)
        on conflict (platform, scope) do nothing;
        select * into row from rate_limits where platform = p_platform and scope = p_scope for update;
        if row.blocked_until is not null and row.blocked_until > now_ts then
            return extract(epoch from (row.blocked_until - now_ts));
        end if;
        available := least(p_burst, row.tokens + extract(epoch from (now_ts - row.updated_at)) * p_rate);
        if available >= 1 then
            update rate_limits set tokens = available - 1, updated_at = now_ts
            where platform = p_platform and scope = p_scope;
            return 0;
        end if;
        update rate_limits set tokens = available, updated_at = now_ts
        where platform = p_platform and scope = p_scope;
        return (1 - available) / p_rate;
    end $$;

    create function adrelay_rate_block(p_platform text, p_scope text, p_seconds double precision,
                                       p_usage double precision) returns void
    language plpgsql as $$
    begin
        insert into rate_limits (platform, scope, tokens, blocked_until, usage_pct)
        values (p_platform, p_scope, 0, clock_timestamp() + make_interval(secs => p_seconds), p_usage)
        on conflict (platform, scope) do update set
            blocked_until = greatest(coalesce(rate_limits.blocked_until, clock_timestamp()),
                                     clock_timestamp() + make_interval(secs => p_seconds)),
            usage_pct = coalesce(excluded.usage_pct, rate_limits.usage_pct),
            tokens = case when p_seconds > 0 then 0 else rate_limits.tokens end;
    end $$;
    """)


def downgrade() -> None:
    op.execute("""
    drop function adrelay_rate_block; drop function adrelay_rate_acquire; drop table rate_limits;
    drop table manual_cleanup; drop table campaign_platform_data; drop table media_uploads;
    drop table publish_steps; drop table publisher_runs;
    """)
