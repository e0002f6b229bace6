"""A revoked connection keeps no tokens: its ciphertexts are erased, so nothing can publish with it
again until a person authorizes it anew (`reauth`).

Revision ID: 0008_connection_revoke
Revises: 0007_rate_acquire_all
"""

from alembic import op

revision = "0008_connection_revoke"
down_revision = "0007_rate_acquire_all"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    alter table platform_connections alter column access_token_enc drop not null;
    alter table platform_connections add constraint platform_connections_tokens_unless_revoked
        check ((status = 'revoked') = (access_token_enc is null));
    comment on column platform_connections.access_token_enc is
        'Fernet ciphertext of the access token; readable only with a key from ADRELAY_TOKEN_KEYS. '
        'Null exactly when the connection is revoked.';
    """)


def downgrade() -> None:
    op.execute("""
    update platform_connections set access_token_enc = ''::bytea where access_token_enc is null;
    alter table platform_connections drop constraint platform_connections_tokens_unless_revoked;
    alter table platform_connections alter column access_token_enc set not null;
    """)
