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
