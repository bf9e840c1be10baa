"""masked personal data in comments

Adds `responses.comment_masked` and masks the comments already stored, in batches by id,
with the same function that masks every new comment (survey_app.masking). What was masked
is gone for good: a downgrade drops the flag, and the comments stay masked.

Revision ID: 0015_masked_comments
Revises: 0014_public_board
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from survey_app.masking import mask_personal_data

revision: str = '0015_masked_comments'
down_revision: str | None = '0014_public_board'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_SIZE = 1000

responses = sa.table(
    'responses',
    sa.column('id', sa.Integer()),
    sa.column('comment', sa.Text()),
    sa.column('comment_masked', sa.Boolean()),
)


def mask_stored_comments(connection: sa.Connection, batch_size: int = BATCH_SIZE) -> int:
    """Mask the personal data of every stored comment; return how many comments changed."""
    changed = 0
    after = 0
    while True:
        rows = connection.execute(
            sa.select(responses.c.id, responses.c.comment)
            .where(responses.c.id > after, responses.c.comment.is_not(None))
            .order_by(responses.c.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return changed
        masked = [
            {'row_id': row_id, 'masked_comment': result.text}
            for row_id, comment in rows
            if (result := mask_personal_data(comment)).is_masked
        ]
        if masked:
            connection.execute(
                responses.update()
                .where(responses.c.id == sa.bindparam('row_id'))
                .values(comment=sa.bindparam('masked_comment'), comment_masked=sa.true()),
                masked,
            )
            changed += len(masked)
        after = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'comment_masked', sa.Boolean(), server_default=sa.false(), nullable=False,
        ))
        batch_op.create_check_constraint(
            op.f('ck_responses_comment_masked'), 'comment IS NOT NULL OR NOT comment_masked'
        )
    mask_stored_comments(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_responses_comment_masked'), type_='check')
        batch_op.drop_column('comment_masked')
