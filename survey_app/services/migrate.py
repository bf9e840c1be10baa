"""Run the Alembic migrations of migrations/ against the app's database, as its owner, and
give the runtime role its grants."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

# The project's migrations/ folder, beside the survey_app package.
MIGRATIONS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "migrations"
)


def alembic_config(url: str, connection: Connection | None = None) -> AlembicConfig:
    """Return an Alembic configuration for a database URL (or an open connection)."""
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    # ConfigParser treats % as interpolation; URLs may hold %-escaped passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head", connection: Connection | None = None) -> None:
    """Create or upgrade the schema to `revision`."""
    command.upgrade(alembic_config(url, connection), revision)


# The runtime role ------------------------------------------------------------------------
# In production two PostgreSQL roles share the database (docs/deployment.md, «Database
# roles»): the owner, which owns every table and runs the migrations, and the runtime role
# the app connects as, which may only read and write rows. The grants are worked out here
# from the tables the database holds, so that `flask db upgrade` can give them again after
# every migration, new tables included.

# Tables the runtime role may only read and add to: the database itself keeps them
# append-only, whatever the code does (the audit log's trigger is a second guard, against
# the owner's own mistakes; docs/seals.md for the seals).
APPEND_ONLY_TABLES = ("audit_events", "day_seals")
# Tables the runtime role may only read: the migrations' own bookkeeping.
READ_ONLY_TABLES = ("alembic_version",)
READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class RuntimeGrants:
    """What the runtime role was granted, table by table."""

    role: str
    schema: str
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sequences: tuple[str, ...] = ()


class RoleError(RuntimeError):
    """The runtime role cannot be given the grants (missing, too powerful, or an owner)."""


def runtime_privileges(table: str) -> tuple[str, ...]:
    """Return the privileges the runtime role holds on a table of the app's schema."""
    if table in APPEND_ONLY_TABLES:
        return ("SELECT", "INSERT")
    if table in READ_ONLY_TABLES:
        return ("SELECT",)
    return READ_WRITE


def grant_runtime(connection: Connection, role: str) -> RuntimeGrants:
    """Give the runtime role exactly what the app needs, and nothing more, as the owner.

    Every privilege it held on the schema's tables and sequences is revoked first, so that
    running this again (after each upgrade) leaves exactly the grants of
    `runtime_privileges`: rows of the app's tables, only SELECT and INSERT on the
    append-only ones, USAGE of the sequences; never TRUNCATE, REFERENCES or TRIGGER. A role
    that is the owner, a superuser, a member of the owner, or the owner of any table is
    refused: it would bypass the grants. Runs in the connection's transaction; the caller
    commits.
    """
    if connection.dialect.name != "postgresql":
        raise RoleError("database roles are PostgreSQL's: SQLite has none to grant")
    found = connection.execute(
        text(
            "SELECT r.rolsuper, r.rolname = current_user, pg_has_role(r.oid, current_user, "
            "'MEMBER'), current_schema() FROM pg_roles r WHERE r.rolname = :role"
        ),
        {"role": role},
    ).first()
    if found is None:
        raise RoleError(f"no role named {role!r} on this server: create it first "
                        "(docs/deployment.md, «Database roles»)")
    superuser, is_current, member_of_owner, schema = found
    if is_current:
        raise RoleError(f"{role!r} is the role running the migrations, the owner: the "
                        "runtime role must be another one")
    if superuser:
        raise RoleError(f"{role!r} is a superuser, which no grant restrains: use a role "
                        "created NOSUPERUSER")
    if member_of_owner:
        raise RoleError(f"{role!r} is a member of the owner role and would act as the owner: "
                        "REVOKE that membership")
    owned = connection.scalars(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = :role) ORDER BY c.relname"
        ),
        {"schema": schema, "role": role},
    ).all()
    if owned:
        raise RoleError(f"{role!r} owns {', '.join(owned)}: the owner role must own every "
                        "table (ALTER TABLE … OWNER TO the owner), the runtime role nothing")
    can_create = connection.scalar(
        text("SELECT has_schema_privilege(:role, :schema, 'CREATE')"),
        {"role": role, "schema": schema},
    )
    if can_create:
        raise RoleError(
            f"{role!r} may create tables in the schema {schema} (and would own them): as the "
            f"schema's owner or a superuser, REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC "
            "(and from the role, if it was granted)"
        )

    quote = connection.dialect.identifier_preparer.quote
    who, where = quote(role), quote(schema)
    # Every table and sequence of the schema, and whether the role running this may grant
    # on it (it owns it, is a member of its owner, or is a superuser).
    relations = connection.execute(
        text(
            "SELECT c.relname, c.relkind, pg_has_role(current_user, c.relowner, 'USAGE') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'S') ORDER BY c.relname"
        ),
        {"schema": schema},
    ).all()
    foreign = [name for name, _kind, ours in relations if not ours]
    if foreign:
        raise RoleError(f"{', '.join(foreign)} in schema {schema} belong to another role than "
                        "the one running the migrations: run them as the owner of every table")
    tables = [name for name, kind, _ours in relations if kind in ("r", "p")]
    sequences = [name for name, kind, _ours in relations if kind == "S"]
    connection.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {where} FROM {who}"))
    connection.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {where} FROM {who}"))
    connection.execute(text(f"GRANT USAGE ON SCHEMA {where} TO {who}"))
    granted: dict[str, tuple[str, ...]] = {}
    for table in tables:
        privileges = runtime_privileges(table)
        connection.execute(text(
            f"GRANT {', '.join(privileges)} ON TABLE {where}.{quote(table)} TO {who}"
        ))
        granted[table] = privileges
    for sequence in sequences:
        connection.execute(text(f"GRANT USAGE ON SEQUENCE {where}.{quote(sequence)} TO {who}"))
    return RuntimeGrants(role=role, schema=schema, tables=granted, sequences=tuple(sequences))


def upgrade_and_grant(owner_url: str, role: str | None, revision: str = "head") -> (
        RuntimeGrants | None):
    """Upgrade the schema as the owner and, in the same transaction, give the runtime role
    its grants again (when one is named): new tables never exist without them."""
    if role is None:
        upgrade(owner_url, revision)
        return None
    engine = create_engine(owner_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            upgrade(owner_url, revision, connection)
            return grant_runtime(connection, role)
    finally:
        engine.dispose()
