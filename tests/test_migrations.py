"""The migrations build exactly the schema the models describe, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from survey_app.extensions import db
from survey_app.migrate import alembic_config, upgrade
from survey_app.models import Base


def test_migrated_schema_matches_the_models(app):
    with db.engine_for(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_database_is_at_the_single_head_revision(app, database_url):
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"
    with db.engine_for(app).connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == heads[0]


def test_upgrade_downgrade_upgrade_on_an_empty_database(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'cycle.sqlite3'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(url)
    assert {"agencies", "sectors", "counters", "survey_codes", "responses"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_counts_by_status_move_onto_the_counted_rows_of_existing_rollups(tmp_path):
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'status.sqlite3'}"
    upgrade(url, "0005_rollup_keys")
    engine = create_engine(url)
    answers = ["responses", *(f"q{q}_{v}" for q in range(1, 7) for v in range(1, 6)),
               "q7_no", "q7_yes", "q7_decline", "wish_respondents",
               *(f"wish_{w}" for w in ("facilities", "attitude", "guidance", "speed",
                                       "transparency", "online", "feedback"))]
    day = "'2026-03-02', '2026-03-01'"
    with engine.begin() as connection:
        for code, status, n in ((1, "counted", 5), (1, "duplicate", 2), (1, "flagged", 1),
                                (2, "flagged", 3)):
            connection.execute(text(
                f"INSERT INTO tally_days (day, month, survey_code_id, status, agency_id, "
                f"counter_id, sector_id, {', '.join(answers)}) VALUES ({day}, {code}, "
                f"'{status}', 1, 1, 1, {n}, {', '.join('0' for _ in answers[1:])})"
            ))
    upgrade(url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT survey_code_id, responses, responses_duplicate, responses_flagged "
            "FROM tally_days WHERE status = 'counted' ORDER BY survey_code_id"
        )).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(1, 5, 2, 1), (2, 0, 0, 3)]
