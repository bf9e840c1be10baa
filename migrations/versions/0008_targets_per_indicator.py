"""targets per indicator and scope; pair counts for the interval of the index

Revision ID: 0008_targets_per_indicator
Revises: 0007_tally_years
Create Date: 2026-12-05

Nghị quyết 76/NQ-CP sets targets for two indicators: satisfaction with how procedures are
settled (O, question 6) and the SIPAS index (S). A target becomes a row (year, indicator,
scope, threshold) and a scope a named set of sectors, so a deployment can add one without
code. The yearly thresholds stored until now were the resolution's 90 / 85 figures, which
belong to O: they are carried over as O's targets, and S gets the resolution's own targets
(85 until 2029, 90 from 2030). The sector groups become the members of the scopes.

The rollups gain, for every pair of elements, how many responses answered both and how many
were satisfied on either and on both, counted here from the responses already stored.
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0008_targets_per_indicator'
down_revision: str | None = '0007_tally_years'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The schema as it is at this revision (not imported from the models, which may change).
ELEMENTS = ('q1', 'q2', 'q3', 'q4', 'q5')
PAIRS = tuple((a, b) for i, a in enumerate(ELEMENTS) for b in ELEMENTS[i + 1:])
PARTS = ('valid', 'first', 'second', 'both')
PAIR_COLUMNS = tuple(f'pair_{a}_{b}_{part}' for a, b in PAIRS for part in PARTS)
TALLY_TABLES = (('tally_days', 'day'), ('tally_months', 'month'), ('tally_years', 'year'))
OLD_THRESHOLDS = {
    'all': 'sipas_all',
    'LAND': 'sipas_land',
    'CONSTRUCTION': 'sipas_construction',
    'INVESTMENT': 'sipas_investment',
    'LAND_CONSTRUCTION_INVESTMENT': 'sipas_land_construction_investment',
}
SCOPES = (
    ('all', 'Tất cả lĩnh vực', 'All sectors', None),
    ('LAND', 'Đất đai', 'Land', ('LAND',)),
    ('CONSTRUCTION', 'Xây dựng', 'Construction', ('CONSTRUCTION',)),
    ('INVESTMENT', 'Đầu tư', 'Investment', ('INVESTMENT',)),
    ('LAND_CONSTRUCTION_INVESTMENT', 'Đất đai, xây dựng, đầu tư (gộp)',
     'Land, construction, investment (pooled)', ('LAND', 'CONSTRUCTION', 'INVESTMENT')),
)
GROUPS = ('LAND', 'CONSTRUCTION', 'INVESTMENT')


def upgrade() -> None:
    op.create_table(
        'target_scopes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('label_vi', sa.String(length=200), nullable=False),
        sa.Column('label_en', sa.String(length=200), nullable=False),
        sa.Column('covers_all_sectors', sa.Boolean(), nullable=False),
        sa.Column('position', sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_target_scopes')),
        sa.UniqueConstraint('code', name=op.f('uq_target_scopes_code')),
    )
    op.create_table(
        'target_scope_sectors',
        sa.Column('scope_id', sa.Integer(), nullable=False),
        sa.Column('sector_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['scope_id'], ['target_scopes.id'], ondelete='CASCADE',
                                name=op.f('fk_target_scope_sectors_scope_id_target_scopes')),
        sa.ForeignKeyConstraint(['sector_id'], ['sectors.id'], ondelete='CASCADE',
                                name=op.f('fk_target_scope_sectors_sector_id_sectors')),
        sa.PrimaryKeyConstraint('scope_id', 'sector_id', name=op.f('pk_target_scope_sectors')),
    )
    op.create_table(
        'targets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('indicator', sa.String(length=20), nullable=False),
        sa.Column('scope_id', sa.Integer(), nullable=False),
        sa.Column('threshold', sa.Float(), nullable=False),
        sa.CheckConstraint("indicator IN ('overall', 'sipas_index')",
                           name=op.f('ck_targets_indicator')),
        sa.CheckConstraint('threshold BETWEEN 0 AND 100', name=op.f('ck_targets_threshold')),
        sa.ForeignKeyConstraint(['scope_id'], ['target_scopes.id'], ondelete='CASCADE',
                                name=op.f('fk_targets_scope_id_target_scopes')),
        sa.ForeignKeyConstraint(['year'], ['target_years.year'], ondelete='CASCADE',
                                name=op.f('fk_targets_year_target_years')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_targets')),
        sa.UniqueConstraint('year', 'indicator', 'scope_id',
                            name=op.f('uq_targets_year_indicator_scope_id')),
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targets_scope_id'), ['scope_id'], unique=False)

    _carry_targets_over()

    with op.batch_alter_table('target_years', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_target_years_thresholds'), type_='check')
        for column in OLD_THRESHOLDS.values():
            batch_op.drop_column(column)
    with op.batch_alter_table('sectors', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_sectors_target_group'), type_='check')
        batch_op.drop_column('target_group')

    for table, _period in TALLY_TABLES:
        for column in PAIR_COLUMNS:
            op.add_column(table, sa.Column(column, sa.Integer(), nullable=False,
                                           server_default='0'))
    _count_pairs()


def _carry_targets_over() -> None:
    """Make the scopes from the sector groups and the targets from the yearly thresholds."""
    bind = op.get_bind()
    scopes = sa.table('target_scopes', sa.column('id', sa.Integer), sa.column('code'),
                      sa.column('label_vi'), sa.column('label_en'),
                      sa.column('covers_all_sectors', sa.Boolean),
                      sa.column('position', sa.Integer))
    members = sa.table('target_scope_sectors', sa.column('scope_id'), sa.column('sector_id'))
    targets = sa.table('targets', sa.column('year'), sa.column('indicator'),
                       sa.column('scope_id'), sa.column('threshold'))
    sectors = sa.table('sectors', sa.column('id'), sa.column('target_group'))
    years = sa.table('target_years', sa.column('year'),
                     *(sa.column(c) for c in OLD_THRESHOLDS.values()))
    if bind.scalar(sa.select(sa.func.count()).select_from(sectors)) == 0:
        return  # a new database: `flask seed` makes the scopes and the targets
    scope_ids = {}
    for position, (code, label_vi, label_en, groups) in enumerate(SCOPES, start=1):
        bind.execute(scopes.insert().values(code=code, label_vi=label_vi, label_en=label_en,
                                            covers_all_sectors=groups is None,
                                            position=position))
        scope_ids[code] = bind.scalar(sa.select(scopes.c.id).where(scopes.c.code == code))
        if groups:
            for (sector_id,) in bind.execute(
                sa.select(sectors.c.id).where(sectors.c.target_group.in_(groups))
            ):
                bind.execute(members.insert().values(scope_id=scope_ids[code],
                                                     sector_id=sector_id))
    for row in bind.execute(sa.select(years)).mappings().all():
        for code, column in OLD_THRESHOLDS.items():
            bind.execute(targets.insert().values(year=row['year'], indicator='overall',
                                                 scope_id=scope_ids[code],
                                                 threshold=row[column]))
            bind.execute(targets.insert().values(
                year=row['year'], indicator='sipas_index', scope_id=scope_ids[code],
                threshold=90.0 if row['year'] >= 2030 else 85.0))


def _count_pairs() -> None:
    """Fill the pair counts of the rollup rows from the responses already stored."""
    bind = op.get_bind()
    responses = sa.table(
        'responses', sa.column('survey_code_id', sa.Integer), sa.column('status', sa.String),
        sa.column('created_at', sa.DateTime), *(sa.column(q, sa.Integer) for q in ELEMENTS),
    )
    zone = ZoneInfo(os.environ.get('TIMEZONE', 'Asia/Ho_Chi_Minh'))
    sums: dict[str, dict[tuple, dict[str, int]]] = {'day': {}, 'month': {}, 'year': {}}
    for row in bind.execute(sa.select(responses)):
        moment = row.created_at
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        day = moment.astimezone(zone).date()
        increments = {}
        for a, b in PAIRS:
            first, second = getattr(row, a), getattr(row, b)
            if first is None or second is None:
                continue
            increments[f'pair_{a}_{b}_valid'] = 1
            increments[f'pair_{a}_{b}_first'] = int(first >= 4)
            increments[f'pair_{a}_{b}_second'] = int(second >= 4)
            increments[f'pair_{a}_{b}_both'] = int(first >= 4 and second >= 4)
        if not increments:
            continue
        for level, start in (('day', day), ('month', day.replace(day=1)),
                             ('year', day.replace(month=1, day=1))):
            totals = sums[level].setdefault((start, row.survey_code_id, row.status),
                                            dict.fromkeys(PAIR_COLUMNS, 0))
            for column, n in increments.items():
                totals[column] += n
    for table_name, period in TALLY_TABLES:
        rows = [
            {'b_period': start, 'b_code': code, 'b_status': status, **totals}
            for (start, code, status), totals in sums[period].items()
        ]
        if not rows:
            continue
        table = sa.table(table_name, sa.column(period), sa.column('survey_code_id'),
                         sa.column('status'), *(sa.column(c) for c in PAIR_COLUMNS))
        bind.execute(
            table.update()
            .where(table.c[period] == sa.bindparam('b_period'),
                   table.c.survey_code_id == sa.bindparam('b_code'),
                   table.c.status == sa.bindparam('b_status'))
            .values({c: sa.bindparam(c) for c in PAIR_COLUMNS}),
            rows,
        )


def downgrade() -> None:
    for table, _period in TALLY_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in PAIR_COLUMNS:
                batch_op.drop_column(column)
    with op.batch_alter_table('sectors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_group', sa.String(length=20), nullable=True))
    with op.batch_alter_table('target_years', schema=None) as batch_op:
        for column in OLD_THRESHOLDS.values():
            batch_op.add_column(sa.Column(column, sa.Float(), nullable=False,
                                          server_default='0'))
    bind = op.get_bind()
    # Back to one threshold per scope and year: O's, as the old columns held.
    for code, column in OLD_THRESHOLDS.items():
        bind.execute(sa.text(
            f"UPDATE target_years SET {column} = COALESCE((SELECT t.threshold FROM targets t "
            "JOIN target_scopes s ON s.id = t.scope_id WHERE t.year = target_years.year "
            f"AND t.indicator = 'overall' AND s.code = '{code}'), {column})"
        ))
    for group in GROUPS:
        bind.execute(sa.text(
            f"UPDATE sectors SET target_group = '{group}' WHERE id IN (SELECT m.sector_id "
            "FROM target_scope_sectors m JOIN target_scopes s ON s.id = m.scope_id "
            f"WHERE s.code = '{group}')"
        ))
    with op.batch_alter_table('target_years', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'thresholds',
            ' AND '.join(f'{c} BETWEEN 0 AND 100' for c in OLD_THRESHOLDS.values()),
        )
    with op.batch_alter_table('sectors', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'target_group',
            "target_group IS NULL OR target_group IN ('LAND', 'CONSTRUCTION', 'INVESTMENT')",
        )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targets_scope_id'))
    op.drop_table('targets')
    op.drop_table('target_scope_sectors')
    op.drop_table('target_scopes')
