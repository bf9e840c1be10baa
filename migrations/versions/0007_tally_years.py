"""yearly rollups

Revision ID: 0007_tally_years
Revises: 0006_status_counts
Create Date: 2026-11-27

SIPAS is reported by calendar year: a year over a province now sums one rollup row per
code instead of twelve. Filled from the month rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_tally_years'
down_revision: str | None = '0006_status_counts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The count columns as they are at this revision (not imported from the models).
COUNT_COLUMNS = (
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
    'responses_duplicate',
    'responses_flagged',
)
KEYS = ('survey_code_id', 'status', 'agency_id', 'counter_id', 'sector_id')


def upgrade() -> None:
    op.create_table(
        'tally_years',
        sa.Column('year', sa.Date(), nullable=False),
        sa.Column('survey_code_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('counter_id', sa.Integer(), nullable=False),
        sa.Column('sector_id', sa.Integer(), nullable=False),
        *(sa.Column(column, sa.Integer(), nullable=False) for column in COUNT_COLUMNS),
        sa.PrimaryKeyConstraint('year', 'survey_code_id', 'status', name=op.f('pk_tally_years')),
    )
    with op.batch_alter_table('tally_years', schema=None) as batch_op:
        batch_op.create_index('ix_tally_years_agency_year', ['agency_id', 'year'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        year = "CAST(date_trunc('year', month) AS DATE)"
    else:
        year = "date(month, 'start of year')"
    op.execute(
        f"INSERT INTO tally_years (year, {', '.join(KEYS)}, {', '.join(COUNT_COLUMNS)}) "
        f"SELECT {year}, {', '.join(KEYS)}, "
        f"{', '.join(f'sum({c})' for c in COUNT_COLUMNS)} FROM tally_months "
        f"GROUP BY {year}, {', '.join(KEYS)}"
    )


def downgrade() -> None:
    with op.batch_alter_table('tally_years', schema=None) as batch_op:
        batch_op.drop_index('ix_tally_years_agency_year')
    op.drop_table('tally_years')
