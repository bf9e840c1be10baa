"""read-aloud clips an admin uploaded, one per questionnaire version and question

Revision ID: 0017_voice_clips
Revises: 0016_kiosks
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import survey_app.models

revision: str = '0017_voice_clips'
down_revision: str | None = '0016_kiosks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('voice_clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('question_key', sa.String(length=20), nullable=False),
    sa.Column('mimetype', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', survey_app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_voice_clips_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_clips')),
    sa.UniqueConstraint('version', 'question_key', name=op.f('uq_voice_clips_version_question_key'))
    )


def downgrade() -> None:
    op.drop_table('voice_clips')
