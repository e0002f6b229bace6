"""The tracker's records: tracked campaigns with their totals, the durable sync schedule (leases), daily
metrics per level, attribution per ad, ad review states, and webhook deliveries (dedupe).

Revision ID: 0005_tracker
Revises: 0004_orchestrator
"""

from alembic import op

revision = "0005_tracker"
down_revision = "0004_orchestrator"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    create table tracked_campaigns (
        publish_id            text        not null,
        platform              text        not null,
        campaign_id           text        not null,
        connection_id         text        not null,
        account_id            text        not null,
        external_campaign_id  text        not null,
        since                 timestamptz not null,
        track_until           timestamptz,
        currency              text,
        time_zone             text,
        state                 text        not null default 'active',
        stop_reason           text,
        stopped_at            timestamptz,
        impressions           bigint      not null default 0,
        clicks                bigint      not null default 0,
        spend_micros          bigint      not null default 0,
        conversions           bigint      not null default 0,
        synced_from           date,
        synced_through        date,
        last_synced_at        timestamptz,
        created_at            timestamptz not null default now(),
        updated_at            timestamptz not null default now(),
        primary key (publish_id, platform)
    );
    create index tracked_campaigns_campaign on tracked_campaigns (campaign_id);
    comment on table tracked_campaigns is
        'One published campaign per platform being tracked: where its metrics come from (connection, '
        'account, external campaign id, account currency and time zone), until when (campaign end + '
        'attribution window), why tracking stopped, and its lifetime totals. Owner: the tracker.';

    create table tracking_schedule (
        publish_id        text        not null,
        platform          text        not null,
        job               text        not null,
        state             text        not null default 'active',
        next_run_at       timestamptz not null,
        interval_s        double precision not null,
        lease_owner       text,
        lease_expires_at  timestamptz,
        fencing_token     bigint      not null default 0,
        runs              integer     not null default 0,
        failures          integer     not null default 0,
        last_run_at       timestamptz,
        last_run_by       text,
        last_error        jsonb,
        created_at        timestamptz not null default now(),
        updated_at        timestamptz not null default now(),
        primary key (publish_id, platform, job),
        foreign key (publish_id, platform) references tracked_campaigns (publish_id, platform)
    );
    create index tracking_schedule_due on tracking_schedule (next_run_at) where state = 'active';
    comment on table tracking_schedule is
        'Durable timers of the tracker''s jobs per tracked campaign (performance sync, review polling): '
        'next run, interval, and a lease (owner, expiry, fencing token) so that one replica runs a job '
        'at a time. Owner: the tracker.';

    create table performance_metrics (
        platform        text        not null,
        level           text        not null,
        external_id     text        not null,
        day             date        not null,
        publish_id      text        not null,
        campaign_id     text        not null,
        account_id      text        not null,
        currency        text        not null,
        time_zone       text        not null,
        impressions     bigint      not null,
        clicks          bigint      not null,
        spend_micros    bigint      not null,
        conversions     bigint      not null,
        raw             jsonb       not null default '{}',
        first_synced_at timestamptz not null default now(),
        synced_at       timestamptz not null default now(),
        primary key (platform, level, external_id, day)
    );
    create index performance_metrics_publish on performance_metrics (publish_id, platform, level, day);
    comment on table performance_metrics is
        'Normalised delivery per day (in the ad account''s time zone) and level (campaign, ad_set, ad): '
        'impressions, clicks, spend in micros of the account currency, conversions, and the platform''s '
        'raw row; upserted, so a re-sync never double counts. Owner: the tracker.';

    create table ad_attribution (
        publish_id          text        not null,
        platform            text        not null,
        ad_id               text        not null,
        campaign_id         text        not null,
        external_ad_id      text,
        landing_url         text        not null,
        tracked_url         text        not null,
        utm                 jsonb       not null default '{}',
        click_id_parameter  text,
        created_at          timestamptz not null default now(),
        primary key (publish_id, platform, ad_id)
    );
    create index ad_attribution_campaign on ad_attribution (campaign_id, ad_id);
    comment on table ad_attribution is
        'Each published ad''s final landing URL with its tracking parameters (UTM + the platform''s '
        'click id), so conversions can be joined back to the ad. Owner: the tracker.';

    create table ad_reviews (
        platform         text        not null,
        external_ad_id   text        not null,
        account_id       text,
        publish_id       text,
        campaign_id      text,
        ad_id            text,
        review           text,
        violations       jsonb       not null default '[]',
        suggestions      jsonb       not null default '[]',
        source           text,
        observed_at      timestamptz,
        needs_detail     boolean     not null default false,
        emitted_review   text,
        emitted_version  integer     not null default 0,
        emitted_at       timestamptz,
        dirty            boolean     not null default false,
        retry_at         timestamptz,
        attempts         integer     not null default 0,
        created_at       timestamptz not null default now(),
        updated_at       timestamptz not null default now(),
        primary key (platform, external_ad_id)
    );
    create index ad_reviews_dirty on ad_reviews (retry_at) where dirty;
    create index ad_reviews_publish on ad_reviews (publish_id, platform);
    comment on table ad_reviews is
        'Each ad''s review as last observed (webhook or polling) and as last emitted (AdReviewChanged), '
        'so an outcome is emitted once per change. Owner: the tracker.';

    create table webhook_deliveries (
        platform     text        not null,
        delivery_id  text        not null,
        body_sha256  text        not null,
        payload      jsonb       not null,
        outcomes     integer     not null default 0,
        received_at  timestamptz not null default now(),
        primary key (platform, delivery_id)
    );
    create index webhook_deliveries_received on webhook_deliveries (received_at);
    comment on table webhook_deliveries is
        'Signed platform webhook deliveries already applied (platforms deliver at least once). '
        'Owner: the tracker.';
    """)


def downgrade() -> None:
    op.execute("""
    drop table webhook_deliveries; drop table ad_reviews; drop table ad_attribution;
    drop table performance_metrics; drop table tracking_schedule; drop table tracked_campaigns;
    """)
