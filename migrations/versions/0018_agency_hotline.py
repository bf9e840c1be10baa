"""an agency's complaint hotline and its note

Revision ID: 0018_agency_hotline
Revises: 0017_voice_clips
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_agency_hotline'
down_revision: str | None = '0017_voice_clips'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hotline', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('hotline_note', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('hotline_note')
        batch_op.drop_column('hotline')
