"""Two PostgreSQL roles: the owner migrates, the runtime role the app connects as may only
read and write rows, and the database refuses it everything else (docs/deployment.md,
«Database roles»).

The module makes its own owner and runtime roles, with unique names, and a database owned
by the owner on TEST_DATABASE_URL's server; `flask db upgrade` runs as the owner and gives
the runtime role its grants; everything is dropped at the end, even after a failure.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from survey_app import create_app, normalise_database_url
from survey_app.extensions import db
from survey_app.models import AuditEvent, Response
from survey_app.services import audit
from survey_app.services.migrate import APPEND_ONLY_TABLES, runtime_privileges
from survey_app.services.seed import seed_sectors, seed_targets
from tests.databases import POSTGRES_URL
from tests.factories import (
    PROJECT_ROOT,
    VALID_ANSWERS,
    create_code,
    is_thanks,
    phone,
    submit,
)

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="database roles are PostgreSQL's (SQLite has none): "
           "set TEST_DATABASE_URL=postgresql://… to run these tests",
)

# SQLSTATE 42501: insufficient privilege (a missing grant, or not the owner).
INSUFFICIENT_PRIVILEGE = "42501"


@dataclass
class Roles:
    """The two roles, their database, and the app connected as the runtime role."""

    owner: str
    runtime: str
    runtime_url: str
    app: Flask
    runtime_engine: Engine
    owner_engine: Engine
    upgrade_output: str


def _run(server: Engine, statement: str) -> None:
    with server.connect() as connection:
        connection.execute(text(statement))


@pytest.fixture(scope="module")
def roles() -> Iterator[Roles]:
    base = make_url(normalise_database_url(POSTGRES_URL or ""))
    server = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        may_create = connection.scalar(text(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"))
    if not may_create:
        server.dispose()
        pytest.skip("TEST_DATABASE_URL's role may not create roles (CREATEROLE)")
    suffix = secrets.token_hex(5)
    owner, runtime, name = f"survey_owner_{suffix}", f"survey_app_{suffix}", f"roles_{suffix}"
    # Passwords too, so that the roles connect whether the server trusts 127.0.0.1 or not.
    owner_password, runtime_password = secrets.token_hex(16), secrets.token_hex(16)
    app: Flask | None = None
    engines: list[Engine] = []
    try:
        _run(server, f"CREATE ROLE {owner} LOGIN PASSWORD '{owner_password}'")
        _run(server, f"CREATE ROLE {runtime} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                     f"PASSWORD '{runtime_password}'")
        _run(server, f"CREATE DATABASE {name} OWNER {owner}")
        # As in the docs: before PostgreSQL 15 everyone may create tables in public.
        inside = create_engine(base.set(database=name), isolation_level="AUTOCOMMIT")
        try:
            _run(inside, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        finally:
            inside.dispose()

        def url(role: str, password: str) -> URL:
            return base.set(username=role, password=password, database=name)

        owner_url = url(owner, owner_password).render_as_string(hide_password=False)
        runtime_url = url(runtime, runtime_password).render_as_string(hide_password=False)
        app = create_app({"DATABASE_URL": runtime_url, "DATABASE_OWNER_URL": owner_url})
        upgraded = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        with app.app_context():
            seed_sectors(db.session)  # as the runtime role, as `flask seed` runs
            seed_targets(db.session)
            db.session.commit()
        engines = [create_engine(url(runtime, runtime_password)),
                   create_engine(url(owner, owner_password))]
        yield Roles(owner=owner, runtime=runtime, runtime_url=runtime_url, app=app,
                    runtime_engine=engines[0], owner_engine=engines[1],
                    upgrade_output=upgraded.output)
    finally:
        for engine in engines:
            engine.dispose()
        if app is not None:
            db.engine_for(app).dispose()
        _run(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _run(server, f"DROP ROLE IF EXISTS {runtime}")
        _run(server, f"DROP ROLE IF EXISTS {owner}")
        server.dispose()


REFUSED = [
    ("TRUNCATE audit_events", "permission denied for table audit_events"),
    ("ALTER TABLE audit_events DISABLE TRIGGER ALL", "must be owner of table audit_events"),
    ("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
     "must be owner of table audit_events"),
    ("DROP TRIGGER audit_events_append_only ON audit_events",
     "must be owner of relation audit_events"),
    ("ALTER TABLE audit_events ADD COLUMN forged text", "must be owner of table audit_events"),
    ("ALTER TABLE responses ADD COLUMN forged text", "must be owner of table responses"),
    ("DROP TABLE audit_events", "must be owner of table audit_events"),
    ("DROP TABLE responses", "must be owner of table responses"),
    ("UPDATE audit_events SET action = 'forged'", "permission denied for table audit_events"),
    ("DELETE FROM audit_events", "permission denied for table audit_events"),
    ("TRUNCATE day_seals", "permission denied for table day_seals"),
    ("UPDATE day_seals SET reason = 'forged'", "permission denied for table day_seals"),
    ("DELETE FROM day_seals", "permission denied for table day_seals"),
    ("TRUNCATE responses", "permission denied for table responses"),
    ("UPDATE alembic_version SET version_num = 'forged'",
     "permission denied for table alembic_version"),
    ("CREATE TABLE intruder (id integer)", "permission denied for schema public"),
]


@pytest.mark.parametrize(("statement", "error"), REFUSED, ids=[s for s, _ in REFUSED])
def test_the_runtime_role_is_refused(roles, statement, error):
    with roles.runtime_engine.connect() as connection, pytest.raises(DBAPIError) as refused:
        connection.execute(text(statement))
    assert getattr(refused.value.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE
    assert error in str(refused.value.orig)


def held_by_the_runtime_role(roles: Roles) -> dict[str, set[str]]:
    """Return the privileges the runtime role holds on each table it holds any on."""
    with roles.runtime_engine.connect() as connection:
        held = connection.execute(text(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = current_user AND table_schema = 'public'")).all()
    privileges: dict[str, set[str]] = {}
    for table, privilege in held:
        privileges.setdefault(table, set()).add(privilege)
    return privileges


def test_the_runtime_role_owns_nothing_and_holds_exactly_its_grants(roles):
    with roles.runtime_engine.connect() as connection:
        owned = connection.scalars(text(
            "SELECT relname FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)")).all()
        tables = connection.scalars(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
    assert owned == []
    privileges = held_by_the_runtime_role(roles)
    assert privileges == {table: set(runtime_privileges(table)) for table in tables}
    for table in APPEND_ONLY_TABLES:
        assert privileges[table] == {"SELECT", "INSERT"}
    assert "SELECT, INSERT on 2 tables: audit_events, day_seals" in roles.upgrade_output


def test_the_runtime_role_appends_to_the_audit_log(roles):
    with roles.runtime_engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO audit_events (at, action, details) "
            "VALUES (now(), 'roles.checked', '{}')"))
    with roles.app.app_context():
        audit.record(db.session, "roles.checked.again")
        db.session.commit()
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert {"roles.checked", "roles.checked.again"} <= set(actions)


def test_a_citizen_answers_through_the_app_connected_as_the_runtime_role(roles):
    app = roles.app
    with app.app_context():
        code = create_code().code
        db.session.commit()
    assert is_thanks(submit(phone(app), code, VALID_ANSWERS), code)
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 1
        assert db.session.scalar(select(Response.comment)) == VALID_ANSWERS["comment"]


def test_the_maintenance_commands_run_as_the_runtime_role(roles):
    runner = roles.app.test_cli_runner()
    for command in (["purge"], ["tallies", "rebuild"], ["seals", "close"], ["seals", "verify"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, (command, result.output)


def test_the_owner_is_never_given_the_runtime_grants(roles):
    runner = roles.app.test_cli_runner()
    result = runner.invoke(args=["db", "grant-runtime", roles.owner])
    assert result.exit_code != 0
    assert "is the role running the migrations" in result.output
    again = runner.invoke(args=["db", "grant-runtime"])
    assert again.exit_code == 0, again.output
    assert f"granted to {roles.runtime} in schema public:" in again.output


def test_the_grants_the_docs_give_are_the_ones_the_upgrade_gives(roles):
    doc = (PROJECT_ROOT / "docs" / "deployment.md").read_text()
    found = re.search(r"<!-- runtime grants -->\n```sql\n(.*?)^```$", doc, re.S | re.M)
    assert found, "docs/deployment.md shows no runtime grants"
    given = held_by_the_runtime_role(roles)
    with roles.owner_engine.begin() as connection:
        for statement in found.group(1).split(";"):
            if statement.strip():
                connection.execute(text(statement.replace("survey_app", roles.runtime)))
    assert held_by_the_runtime_role(roles) == given
