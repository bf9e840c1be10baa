"""staff sign-in: a TOTP second factor with recovery codes, idle sessions, expiring tokens

Revision ID: 0020_staff_second_factor
Revises: 0018_agency_hotline
Create Date: 2026-12-06

Open sessions get their creation time as their last activity, so an idle one ends at its
next request. Tokens issued before this revision never expired; each now expires one year
after it was created (one created more than a year ago stops working at once and is listed
as expired by `flask tokens list`).
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import survey_app.models

revision: str = '0020_staff_second_factor'
down_revision: str | None = '0018_agency_hotline'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXISTING_TOKEN_LIFETIME = timedelta(days=365)


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', survey_app.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))

    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', survey_app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', survey_app.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_codes_code_hash'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    bind = op.get_bind()
    sessions = sa.table(
        'user_sessions',
        sa.column('created_at', survey_app.models.UTCDateTime(timezone=True)),
        sa.column('last_seen_at', survey_app.models.UTCDateTime(timezone=True)),
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', survey_app.models.UTCDateTime(timezone=True), nullable=True))
    bind.execute(sessions.update().values(last_seen_at=sessions.c.created_at))
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=survey_app.models.UTCDateTime(timezone=True), nullable=False)

    tokens = sa.table(
        'api_tokens',
        sa.column('id', sa.Integer()),
        sa.column('created_at', survey_app.models.UTCDateTime(timezone=True)),
        sa.column('expires_at', survey_app.models.UTCDateTime(timezone=True)),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', survey_app.models.UTCDateTime(timezone=True), nullable=True))
    # Worked out here rather than in SQL, which adds a year differently on each database.
    for token_id, created_at in bind.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        bind.execute(
            tokens.update().where(tokens.c.id == token_id)
            .values(expires_at=created_at + EXISTING_TOKEN_LIFETIME)
        )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=survey_app.models.UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
