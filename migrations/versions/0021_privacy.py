"""receipts answered before their digests were purged

Adds `minted_receipts.is_answered`: the purge clears a response's dossier digests once
DOSSIER_HASH_RETENTION_DAYS have passed, and marks the receipt links it answered first, so
that the receipts' answer rate of an old period stays the same.

Revision ID: 0021_privacy
Revises: 0020_staff_second_factor
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021_privacy'
down_revision: str | None = '0020_staff_second_factor'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('minted_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'is_answered', sa.Boolean(), server_default=sa.false(), nullable=False,
        ))


def downgrade() -> None:
    with op.batch_alter_table('minted_receipts', schema=None) as batch_op:
        batch_op.drop_column('is_answered')
