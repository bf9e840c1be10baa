"""the public transparency board: which agencies an admin has published

Revision ID: 0014_public_board
Revises: 0013_day_seals
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import survey_app.models

revision: str = '0014_public_board'
down_revision: str | None = '0013_day_seals'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('board_publications',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('published_at', survey_app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_board_publications_agency_id_agencies')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_board_publications_published_by_id_users')),
    sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_board_publications'))
    )


def downgrade() -> None:
    op.drop_table('board_publications')
