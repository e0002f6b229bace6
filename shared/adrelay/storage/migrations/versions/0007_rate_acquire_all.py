"""The rate limiter takes a call's allowance from every scope it counts against in one round trip,
all or nothing.

Revision ID: 0007_rate_acquire_all
Revises: 0006_outbox_failures
"""

from alembic import op

revision = "0007_rate_acquire_all"
down_revision = "0006_outbox_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    create function adrelay_rate_acquire_all(p_platform text, p_scopes text[], p_rates double precision[],
                                             p_bursts double precision[]) returns double precision
    language plpgsql as $$
    declare
        now_ts timestamptz := clock_timestamp();
        i integer;
        row rate_limits%rowtype;
        available double precision[] := '{}';
        wait double precision := 0;
    begin
        -- Rows are locked in scope order, so two callers never wait on each other in a circle.
        for i in select ordinality from unnest(p_scopes) with ordinality order by unnest loop
            insert into rate_limits (platform, scope, tokens, updated_at)
            values (p_platform, p_scopes[i], p_bursts[i], now_ts)
            on conflict (platform, scope) do nothing;
            select * into row from rate_limits where platform = p_platform and scope = p_scopes[i] for update;
            if row.blocked_until is not null and row.blocked_until > now_ts then
                wait := greatest(wait, extract(epoch from (row.blocked_until - now_ts)));
            end if;
            available[i] := least(p_bursts[i], row.tokens + extract(epoch from (now_ts - row.updated_at)) * p_rates[i]);
            if available[i] < 1 then
                wait := greatest(wait, (1 - available[i]) / p_rates[i]);
            end if;
        end loop;
        for i in 1 .. coalesce(array_length(p_scopes, 1), 0) loop
            update rate_limits
            set tokens = case when wait = 0 then available[i] - 1 else available[i] end, updated_at = now_ts
            where platform = p_platform and scope = p_scopes[i];
        end loop;
        return wait;
    end $$;
    """)


def downgrade() -> None:
    op.execute("drop function adrelay_rate_acquire_all;")
