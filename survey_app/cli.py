"""Commands for running a deployment: `flask --app survey_app <command>`."""

from __future__ import annotations

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from survey_app.admin import volumes_cli
from survey_app.alerts import cli as alerts_cli
from survey_app.auth import cli as accounts_cli
from survey_app.counters import cli as codes_cli
from survey_app.counters import receipts_cli
from survey_app.extensions import db
from survey_app.seals import cli as seals_cli
from survey_app.services.codes import survey_url, survey_url_root
from survey_app.services.migrate import (
    RoleError,
    RuntimeGrants,
    alembic_config,
    grant_runtime,
    upgrade_and_grant,
)

db_cli = AppGroup("db", help="Create or upgrade the database schema (Alembic migrations).")


def _alembic() -> AlembicConfig:
    """The migrations run as the owner role (DATABASE_OWNER_URL), else as DATABASE_URL's."""
    return alembic_config(current_app.config["SQLALCHEMY_OWNER_URI"])


def _runtime_role() -> str:
    """Return the role DATABASE_URL connects as: the runtime role, when an owner is named."""
    runtime = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).username
    owner = make_url(current_app.config["SQLALCHEMY_OWNER_URI"]).username
    if not runtime:
        raise click.ClickException(
            "DATABASE_URL names no role (postgresql://<role>:<password>@host/database): "
            "name the runtime role in it, or run `flask db grant-runtime <role>` yourself"
        )
    if runtime == owner:
        raise click.ClickException(
            f"DATABASE_URL and DATABASE_OWNER_URL both connect as {runtime}: the app would "
            "own its tables. DATABASE_URL names the runtime role, DATABASE_OWNER_URL the "
            "owner (docs/deployment.md, «Database roles»)"
        )
    return runtime


def _echo_grants(grants: RuntimeGrants) -> None:
    by_kind: dict[tuple[str, ...], list[str]] = {}
    for table, privileges in grants.tables.items():
        by_kind.setdefault(privileges, []).append(table)
    click.echo(f"granted to {grants.role} in schema {grants.schema}:")
    for privileges, tables in sorted(by_kind.items(), key=lambda item: -len(item[0])):
        click.echo(f"  {', '.join(privileges)} on {len(tables)} tables: {', '.join(tables)}")
    click.echo(f"  USAGE on {len(grants.sequences)} sequences")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create the schema, or bring it up to date; with DATABASE_OWNER_URL, as the owner,
    and grant DATABASE_URL's role what the app needs in the same transaction."""
    role = _runtime_role() if current_app.config.get("DATABASE_OWNER_URL") else None
    try:
        grants = upgrade_and_grant(current_app.config["SQLALCHEMY_OWNER_URI"], role, revision)
    except RoleError as error:
        raise click.ClickException(f"{error}. Nothing was changed: the upgrade is rolled "
                                   "back with the grants") from error
    if grants is not None:
        _echo_grants(grants)


@db_cli.command("grant-runtime")
@click.argument("role", required=False)
def db_grant_runtime(role: str | None) -> None:
    """Grant the runtime ROLE (default: DATABASE_URL's) exactly what the app needs, as the
    owner (DATABASE_OWNER_URL). `flask db upgrade` does it after every migration."""
    role = role or _runtime_role()
    engine = create_engine(current_app.config["SQLALCHEMY_OWNER_URI"], poolclass=NullPool)
    try:
        with engine.begin() as connection:
            grants = grant_runtime(connection, role)
    except RoleError as error:
        raise click.ClickException(str(error)) from error
    finally:
        engine.dispose()
    _echo_grants(grants)


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Step the schema back to an earlier revision."""
    command.downgrade(_alembic(), revision)


@db_cli.command("current")
def db_current() -> None:
    """Show the schema's current revision."""
    command.current(_alembic())


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration, compared against the models by default."""
    command.revision(_alembic(), message=message, autogenerate=autogenerate)


tallies_cli = AppGroup("tallies", help="The rollup tables behind every figure.")


@tallies_cli.command("rebuild")
def tallies_rebuild() -> None:
    """Recount the rollups from the responses (after a bulk load or a time zone change)."""
    from survey_app.services import rollups

    counted = rollups.rebuild(db.session)
    db.session.commit()
    click.echo(f"rollups rebuilt from {counted} responses")


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load the reference sectors (adds only what is missing)."""
    from survey_app.services.seed import seed_sectors, seed_targets

    sectors = seed_sectors(db.session)
    targets = seed_targets(db.session)
    db.session.commit()
    click.echo(f"sectors: {sectors} added; target years: {targets} added")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the demo province with responses, and print the survey URL of each code."""
    from survey_app.models import utcnow
    from survey_app.services import board, seals
    from survey_app.services.accounts import find_agency
    from survey_app.services.demo import DEMO_PASSWORD, DEMO_USERS, PROVINCE, load_demo
    from survey_app.services.periods import local_date

    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("the demo has public passwords: it does not run in production")
    codes = load_demo(db.session)
    # The public board shows the demo province, and its finished days are sealed.
    province = find_agency(db.session, PROVINCE[0])
    if province is not None:
        board.publish(db.session, province)
    seals.close(db.session, local_date(utcnow()))
    db.session.commit()
    click.echo("Demo survey codes (open one on a phone-sized browser):")
    for survey_code in codes:
        agency, counter = survey_code.agency.name, survey_code.counter.name
        click.echo(f"# {agency} · {counter} · {survey_code.sector.label_vi}")
        click.echo(survey_url(survey_code.code))
    click.echo(f"Demo accounts (password: {DEMO_PASSWORD}), sign in at {survey_url_root()}/login:")
    for email, name, role, _agency in DEMO_USERS:
        click.echo(f"  {email:<28} {role:<8} {name}")


@click.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep personal details this many days (default: the RETENTION_DAYS setting).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be cleared; change nothing.")
@with_appcontext
def purge_command(days: int | None, dry_run: bool) -> None:
    """Clear comments and hashes of old responses and delete old failed sign-ins.

    Answers, statuses and every tally stay the same; the audit log is never touched.
    """
    from survey_app.services import audit
    from survey_app.services.purge import purge

    retention = days if days is not None else current_app.config["RETENTION_DAYS"]
    if retention < 1:
        raise click.ClickException("RETENTION_DAYS must be at least 1")
    result = purge(db.session, retention, dry_run=dry_run)
    verb = "would be cleared" if dry_run else "cleared"
    click.echo(
        f"responses created before {result.cutoff:%Y-%m-%d %H:%M} UTC "
        f"(older than {retention} days):"
    )
    for name, n in result.cleared.items():
        click.echo(f"  {name}: {n} {verb}")
    click.echo(f"login failures {'to delete' if dry_run else 'deleted'}: {result.login_failures}")
    if dry_run:
        db.session.rollback()
        click.echo("dry run: nothing was changed")
        return
    audit.record(db.session, "data.purged", **result.as_details())
    db.session.commit()


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(tallies_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(purge_command)
    accounts_cli.init_app(app)
    codes_cli.init_app(app)
    receipts_cli.init_app(app)
    volumes_cli.init_app(app)
    alerts_cli.init_app(app)
    seals_cli.init_app(app)
