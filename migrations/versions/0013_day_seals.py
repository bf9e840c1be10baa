"""sealed daily totals: the chain of day seals and their corrections

Revision ID: 0013_day_seals
Revises: 0012_alerts
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import survey_app.models

revision: str = '0013_day_seals'
down_revision: str | None = '0012_alerts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('day_seals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('sealed_at', survey_app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('content_digest', sa.String(length=64), nullable=False),
    sa.Column('previous_digest', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('day', 'correction')", name=op.f('ck_day_seals_kind')),
    sa.CheckConstraint(
        "(kind = 'day' AND revision = 0 AND reason IS NULL) "
        "OR (kind = 'correction' AND revision > 0 AND reason IS NOT NULL)",
        name=op.f('ck_day_seals_revision')),
    sa.CheckConstraint('sequence > 0', name=op.f('ck_day_seals_sequence')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_day_seals')),
    sa.UniqueConstraint('day', 'revision', name=op.f('uq_day_seals_day_revision')),
    sa.UniqueConstraint('sequence', name=op.f('uq_day_seals_sequence'))
    )
    with op.batch_alter_table('day_seals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_day_seals_day'), ['day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('day_seals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_day_seals_day'))

    op.drop_table('day_seals')
