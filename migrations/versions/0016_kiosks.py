"""kiosk tablets at a counter

Adds the kiosks paired with a counter's code and their short-lived pairing codes, and
"kiosk" as a third kind of survey code (the hidden code filing one tablet's answers).

Revision ID: 0016_kiosks
Revises: 0015_masked_comments
Create Date: 2026-12-05
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import survey_app.models

revision: str = '0016_kiosks'
down_revision: str | None = '0015_masked_comments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('survey_codes', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_survey_codes_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_survey_codes_kind'), "kind IN ('counter', 'receipt', 'kiosk')"
        )
    op.create_table('kiosk_pairings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('survey_code_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', survey_app.models.UTCDateTime(), nullable=False),
        sa.Column('expires_at', survey_app.models.UTCDateTime(), nullable=False),
        sa.Column('used_at', survey_app.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_kiosk_pairings_created_by_id_users')),
        sa.ForeignKeyConstraint(['survey_code_id'], ['survey_codes.id'],
                                name=op.f('fk_kiosk_pairings_survey_code_id_survey_codes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_pairings')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_kiosk_pairings_code_hash')),
    )
    with op.batch_alter_table('kiosk_pairings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_pairings_survey_code_id'),
                              ['survey_code_id'], unique=False)
    op.create_table('kiosks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('credential_hash', sa.String(length=64), nullable=False),
        sa.Column('survey_code_id', sa.Integer(), nullable=False),
        sa.Column('answer_code_id', sa.Integer(), nullable=False),
        sa.Column('paired_by_id', sa.Integer(), nullable=True),
        sa.Column('paired_at', survey_app.models.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', survey_app.models.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', survey_app.models.UTCDateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['answer_code_id'], ['survey_codes.id'],
                                name=op.f('fk_kiosks_answer_code_id_survey_codes')),
        sa.ForeignKeyConstraint(['paired_by_id'], ['users.id'],
                                name=op.f('fk_kiosks_paired_by_id_users')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'],
                                name=op.f('fk_kiosks_revoked_by_id_users')),
        sa.ForeignKeyConstraint(['survey_code_id'], ['survey_codes.id'],
                                name=op.f('fk_kiosks_survey_code_id_survey_codes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosks')),
        sa.UniqueConstraint('answer_code_id', name=op.f('uq_kiosks_answer_code_id')),
        sa.UniqueConstraint('credential_hash', name=op.f('uq_kiosks_credential_hash')),
    )
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosks_survey_code_id'),
                              ['survey_code_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosks_survey_code_id'))
    op.drop_table('kiosks')
    with op.batch_alter_table('kiosk_pairings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_pairings_survey_code_id'))
    op.drop_table('kiosk_pairings')
    # Kiosk answers keep their rows, filed from then on under withdrawn counter codes (so
    # that no page offers a tablet's hidden code for printing).
    codes = sa.table('survey_codes', sa.column('kind', sa.String()),
                     sa.column('revoked_at', survey_app.models.UTCDateTime()))
    op.execute(codes.update()
               .where(codes.c.kind == 'kiosk', codes.c.revoked_at.is_(None))
               .values(revoked_at=datetime.now(UTC)))
    op.execute(codes.update().where(codes.c.kind == 'kiosk').values(kind='counter'))
    with op.batch_alter_table('survey_codes', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_survey_codes_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_survey_codes_kind'), "kind IN ('counter', 'receipt')"
        )
