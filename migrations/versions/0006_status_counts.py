"""counts by status on the counted rollup rows

Revision ID: 0006_status_counts
Revises: 0005_rollup_keys
Create Date: 2026-11-27

The 'counted' row of each (day or month, code) now also says how many duplicate and
flagged responses the code had that day or month, so that the dashboard's usual read
(counted answers with the counts by status beside them) reads only counted rows. Existing
rollups are filled in from their duplicate and flagged rows; a day or month with no
counted response gets a counted row of zeros to hold them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_status_counts'
down_revision: str | None = '0005_rollup_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The answer count columns as they are at this revision (not imported from the models,
# which may change later).
ANSWER_COLUMNS = (
    'responses',
    'q1_1',
    'q1_2',
    'q1_3',
    'q1_4',
    'q1_5',
    'q2_1',
    'q2_2',
    'q2_3',
    'q2_4',
    'q2_5',
    'q3_1',
    'q3_2',
    'q3_3',
    'q3_4',
    'q3_5',
    'q4_1',
    'q4_2',
    'q4_3',
    'q4_4',
    'q4_5',
    'q5_1',
    'q5_2',
    'q5_3',
    'q5_4',
    'q5_5',
    'q6_1',
    'q6_2',
    'q6_3',
    'q6_4',
    'q6_5',
    'q7_no',
    'q7_yes',
    'q7_decline',
    'wish_respondents',
    'wish_facilities',
    'wish_attitude',
    'wish_guidance',
    'wish_speed',
    'wish_transparency',
    'wish_online',
    'wish_feedback',
)
STATUS_COLUMNS = {'responses_duplicate': 'duplicate', 'responses_flagged': 'flagged'}
TABLES = {'tally_days': ('day', 'month'), 'tally_months': ('month',)}


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in STATUS_COLUMNS:
                batch_op.add_column(
                    sa.Column(column, sa.Integer(), nullable=False, server_default='0')
                )
    for table, periods in TABLES.items():
        keys = [*periods, 'survey_code_id', 'agency_id', 'counter_id', 'sector_id']
        sums = [
            f"sum(CASE WHEN status = '{status}' THEN responses ELSE 0 END)"
            for status in STATUS_COLUMNS.values()
        ]
        op.execute(
            f"INSERT INTO {table} ({', '.join(keys)}, status, {', '.join(ANSWER_COLUMNS)}, "
            f"{', '.join(STATUS_COLUMNS)}) "
            f"SELECT {', '.join(keys)}, 'counted', {', '.join('0' for _ in ANSWER_COLUMNS)}, "
            f"{', '.join(sums)} FROM {table} WHERE status <> 'counted' "
            f"GROUP BY {', '.join(keys)} "
            f"ON CONFLICT ({periods[0]}, survey_code_id, status) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in STATUS_COLUMNS)
        )


def downgrade() -> None:
    for table in TABLES:
        # Counted rows made only to hold these counts go with them.
        op.execute(f"DELETE FROM {table} WHERE status = 'counted' AND responses = 0")
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in STATUS_COLUMNS:
                batch_op.drop_column(column)
