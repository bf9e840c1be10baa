"""receipt links, the source of a response, and dossier volumes

Every existing survey code is a counter's code (kind "counter").

Revision ID: 0011_receipts_volumes
Revises: 0010_password_changes
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import survey_app.models

revision: str = '0011_receipts_volumes'
down_revision: str | None = '0010_password_changes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dossier_volumes',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('sector_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('updated_at', survey_app.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('received >= 0', name=op.f('ck_dossier_volumes_received')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_dossier_volumes_agency_id_agencies')),
    sa.ForeignKeyConstraint(['sector_id'], ['sectors.id'], name=op.f('fk_dossier_volumes_sector_id_sectors')),
    sa.PrimaryKeyConstraint('agency_id', 'sector_id', 'day', name=op.f('pk_dossier_volumes'))
    )
    op.create_table('receipt_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('created_at', survey_app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', survey_app.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_receipt_keys_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_keys'))
    )
    with op.batch_alter_table('receipt_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_keys_agency_id'), ['agency_id'], unique=False)

    op.create_table('minted_receipts',
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=16), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('sector_id', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('created_at', survey_app.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_minted_receipts_agency_id_agencies')),
    sa.ForeignKeyConstraint(['key_id'], ['receipt_keys.id'], name=op.f('fk_minted_receipts_key_id_receipt_keys')),
    sa.ForeignKeyConstraint(['sector_id'], ['sectors.id'], name=op.f('fk_minted_receipts_sector_id_sectors')),
    sa.PrimaryKeyConstraint('key_id', 'digest', name=op.f('pk_minted_receipts'))
    )
    op.create_table('dossier_digests',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['receipt_keys.id'], name=op.f('fk_dossier_digests_key_id_receipt_keys')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_dossier_digests_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'key_id', name=op.f('pk_dossier_digests'))
    )
    with op.batch_alter_table('dossier_digests', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_digests_key_digest', ['key_id', 'digest'], unique=False)

    with op.batch_alter_table('survey_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='counter', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_survey_codes_kind'), "kind IN ('counter', 'receipt')"
        )



def downgrade() -> None:
    with op.batch_alter_table('survey_codes', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_survey_codes_kind'), type_='check')
        batch_op.drop_column('kind')

    with op.batch_alter_table('dossier_digests', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_digests_key_digest')

    op.drop_table('dossier_digests')
    op.drop_table('minted_receipts')
    with op.batch_alter_table('receipt_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_keys_agency_id'))

    op.drop_table('receipt_keys')
    op.drop_table('dossier_volumes')
