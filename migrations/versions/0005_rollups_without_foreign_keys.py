"""rollup tables without foreign keys

Revision ID: 0005_rollup_keys
Revises: 0004_device
Create Date: 2026-11-27

The rollups are derived data: every row is written by survey_app.tallies in the
transaction that stores or moves a response, and the responses table keeps the foreign
keys. Checking four keys again on every rollup row doubled the cost of each
submission's two upserts and made a rebuild over ten million responses take minutes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005_rollup_keys'
down_revision: str | None = '0004_device'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('tally_days', 'tally_months')
REFERENCES = (
    ('survey_code_id', 'survey_codes'),
    ('agency_id', 'agencies'),
    ('counter_id', 'counters'),
    ('sector_id', 'sectors'),
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referred in REFERENCES:
                batch_op.drop_constraint(f'fk_{table}_{column}_{referred}', type_='foreignkey')


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referred in REFERENCES:
                batch_op.create_foreign_key(
                    f'fk_{table}_{column}_{referred}', referred, [column], ['id']
                )
