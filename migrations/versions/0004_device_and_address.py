"""device and address hashes on responses

Revision ID: 0004_device
Revises: 0003_rollups
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_device'
down_revision: str | None = '0003_rollups'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both nullable: responses stored before this revision have neither.
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('address_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_responses_device_code_created', ['device_hash', 'survey_code_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_device_code_created')
        batch_op.drop_column('address_hash')
        batch_op.drop_column('device_hash')
