"""Platform connections: who adrelay publishes as, with tokens encrypted at rest.

Revision ID: 0002_connections
Revises: 0001_messaging
"""

from alembic import op

revision = "0002_connections"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    create table platform_connections (
        id                 text        primary key check (id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
        platform           text        not null check (platform in ('meta', 'tiktok', 'snapchat')),
        display_name       text        not null,
        status             text        not null default 'active'
                                       check (status in ('active', 'reauth_required', 'revoked')),
        status_reason      text,
        access_token_enc   bytea       not null,
        refresh_token_enc  bytea,
        key_id             text        not null,
        token_type         text        not null,
        expires_at         timestamptz,
        refresh_expires_at timestamptz,
        scopes             text[]      not null default '{}',
        ad_account_ids     text[]      not null default '{}',
        app_id             text,
        details            jsonb       not null default '{}',
        last_checked_at    timestamptz,
        last_check_ok      boolean,
        last_check         jsonb,
        last_refreshed_at  timestamptz,
        created_at         timestamptz not null default now(),
        updated_at         timestamptz not null default now(),
        version            integer     not null default 1
    );
    create index platform_connections_platform on platform_connections (platform, status);
    create index platform_connections_key_id on platform_connections (key_id);
    comment on table platform_connections is
        'Platform connections (ad-platform credentials): tokens encrypted at rest (Fernet, key_id names '
        'the key), expiry, scopes, the ad accounts reached, last check. '
        'Owner: the connections module (adrelay.connections), the only writer.';
    comment on column platform_connections.access_token_enc is
        'Fernet ciphertext of the access token; readable only with a key from ADRELAY_TOKEN_KEYS.';
    comment on column platform_connections.refresh_token_enc is
        'Fernet ciphertext of the refresh token (Snapchat rotates it on every refresh).';
    """)


def downgrade() -> None:
    op.execute("drop table platform_connections;")
