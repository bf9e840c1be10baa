"""Commands for accounts, agencies and API tokens: `flask --app survey_app users|agencies|tokens`.

Each command is one transaction: it commits once when everything succeeded, and any error
rolls back whatever was written, is reported on standard error and exits with status 1.
"""

from __future__ import annotations

import csv
import getpass
import io
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from survey_app.extensions import db
from survey_app.models import (
    AGENCY_CODE_MAX_LENGTH,
    AGENCY_CODE_PATTERN,
    AGENCY_LEVELS,
    AGENCY_NAME_MAX_LENGTH,
    ROLES,
    Agency,
    ApiToken,
    User,
    utcnow,
)
from survey_app.services import audit, second_factor
from survey_app.services.accounts import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    AccountError,
    create_token,
    create_user,
    disable_user,
    find_agency,
    find_user,
    revoke_token,
)
from survey_app.text import clean_code, clean_text

users_cli = AppGroup("users", help="Create, list and disable the accounts that sign in.")
agencies_cli = AppGroup("agencies", help="Import and list the agencies (provinces, communes).")
tokens_cli = AppGroup("tokens", help="Create, list and revoke personal API tokens.")

LABEL_MAX_LENGTH = 100
CODE_PATTERN = re.compile(AGENCY_CODE_PATTERN)
CSV_COLUMNS = ("code", "name", "level", "parent")
REQUIRED_COLUMNS = ("code", "name", "level")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown"


@contextmanager
def _transaction() -> Iterator[Session]:
    """Yield the session; commit once at the end, roll everything back on any error.

    What it writes to the audit log names the OS account running the command.
    """
    session = db.session
    audit.set_operator(_os_user())
    try:
        yield session
        session.commit()
    except AccountError as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:
        session.rollback()
        raise click.ClickException(
            f"the database refused the change, nothing was saved: "
            f"{getattr(error, 'orig', None) or error}"
        ) from None
    except BaseException:
        session.rollback()
        raise


def _when(moment: datetime | None, empty: str = "never") -> str:
    """Format a timestamp in the deployment's time zone, with its UTC offset."""
    if moment is None:
        return empty
    local = moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return local.strftime("%Y-%m-%d %H:%M %z")


def _echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    for line in (headers, ["-" * w for w in widths], *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def _agency_by_code(session: Session, code: str) -> Agency | None:
    return find_agency(session, clean_code(code) or "")


def _user_or_fail(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise click.ClickException(f"no account with the email {email!r}")
    return user


def _actor_option(command: Any) -> Any:
    return click.option(
        "--actor", "actor_email", metavar="EMAIL",
        help="The administrator on whose behalf this is done, logged as the actor "
        "(the OS account running the command is logged in any case).",
    )(command)


def _actor(session: Session, email: str | None) -> User | None:
    """Return the enabled administrator named by --actor, or None when none was named."""
    if email is None:
        return None
    actor = _user_or_fail(session, email)
    if actor.role != "admin" or not actor.is_enabled:
        raise click.ClickException(f"--actor must name an enabled administrator, not {email!r}")
    return actor


# users ------------------------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, help=f"One of {', '.join(ROLES)}.")
@click.option(
    "--agency",
    "agency_code",
    metavar="CODE",
    help="Code of the agency (required for managers and staff).",
)
@click.option("--name", default="", help="The person's full name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
@click.option(
    "--own-password",
    is_flag=True,
    help="The password is the owner's own (say, your own account): do not ask for a new one "
    "at the first sign-in.",
)
@_actor_option
def users_create(
    email: str,
    role: str,
    agency_code: str | None,
    name: str,
    password_stdin: bool,
    own_password: bool,
    actor_email: str | None,
) -> None:
    """Create an account that signs in with EMAIL and a password.

    The owner chooses a new password at the first sign-in, unless --own-password.
    """
    role = role.strip().lower()
    with _transaction() as session:
        # Checked before asking for the password, so nobody types it twice for nothing;
        # create_user checks all of it again.
        if role not in ROLES:
            raise click.ClickException(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        agency = None
        if agency_code is not None:
            agency = _agency_by_code(session, agency_code)
            if agency is None:
                raise click.ClickException(f"no agency with the code {agency_code!r}")
        if role != "admin" and agency is None:
            raise click.ClickException(f"the role {role} needs an agency: add --agency CODE")
        if find_user(session, email) is not None:
            raise click.ClickException(f"an account with the email {email!r} already exists")
        actor = _actor(session, actor_email)

        password = _read_password(password_stdin)
        user = create_user(
            session, email, password, role, agency=agency, name=clean_text(name) or "",
            must_change_password=not own_password, actor=actor,
        )
        where = f" (agency {agency.code})" if agency is not None else ""
    click.echo(f"created {user.role} {user.email}{where}")
    if not own_password:
        click.echo("the owner chooses a new password at the first sign-in")


@users_cli.command("list")
def users_list() -> None:
    """Show every account: email, role, agency, whether it is enabled, last sign-in."""
    session = db.session
    rows = session.execute(
        select(User, Agency.code)
        .outerjoin(Agency, User.agency_id == Agency.id)
        .order_by(User.email)
    ).all()
    if not rows:
        click.echo("no accounts yet")
        return
    _echo_table(
        ("email", "role", "agency", "enabled", "second factor", "last login"),
        [
            (
                user.email,
                user.role,
                code or "-",
                "yes" if user.is_enabled else "no",
                "on" if user.has_second_factor else "off",
                _when(user.last_login_at),
            )
            for user, code in rows
        ],
    )


@users_cli.command("disable")
@click.argument("email")
@_actor_option
def users_disable(email: str, actor_email: str | None) -> None:
    """Disable the account with EMAIL: it can no longer sign in or use its tokens."""
    with _transaction() as session:
        user = _user_or_fail(session, email)
        actor = _actor(session, actor_email)
        if not user.is_enabled:
            click.echo(f"{user.email} was already disabled")
            return
        disable_user(session, user, actor=actor)
    click.echo(f"disabled {user.email}")


@users_cli.command("reset-second-factor")
@click.argument("email")
@_actor_option
def users_reset_second_factor(email: str, actor_email: str | None) -> None:
    """Take the second factor off the account with EMAIL (a lost phone).

    Its sessions end and its recovery codes go; the owner turns it on again at the next
    sign-in (an administrator must).
    """
    with _transaction() as session:
        user = _user_or_fail(session, email)
        actor = _actor(session, actor_email)
        if not user.has_second_factor and user.totp_secret is None:
            click.echo(f"{user.email} has no second factor")
            return
        second_factor.reset(session, user, actor=actor)
    click.echo(f"reset the second factor of {user.email}; it is turned on again at the next "
               "sign-in")


# agencies ---------------------------------------------------------------------------------


@dataclass
class _AgencyRow:
    line: int
    code: str
    name: str
    level: str
    parent: str
    problems: list[str] = field(default_factory=list)


def _read_agency_rows(path: Path) -> list[_AgencyRow]:
    """Parse the CSV file into rows, each with its line number; fail on a bad header."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise click.ClickException(
            f"{path} is not UTF-8 text (byte {error.start + 1}); save it as CSV UTF-8"
        ) from None

    reader = csv.reader(io.StringIO(text, newline=""))
    expected = ",".join(CSV_COLUMNS)
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        if not any(header):
            raise click.ClickException(f"{path} is empty: line 1 must be the header {expected}")
        unknown = [name for name in header if name not in CSV_COLUMNS]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if unknown or missing or len(set(header)) != len(header):
            raise click.ClickException(
                f"line 1 must be the header {expected} (parent may be left out); "
                f"found {','.join(header)}"
            )
        rows = []
        last_line = reader.line_num
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            values = dict(zip(header, cells, strict=False))
            row = _AgencyRow(
                line=line,
                code=clean_code(values.get("code")) or "",
                name=clean_text(values.get("name")) or "",
                level=(clean_text(values.get("level")) or "").lower(),
                parent=clean_code(values.get("parent")) or "",
            )
            if len(cells) > len(header):
                row.problems.append(f"{len(cells)} fields where the header has {len(header)}")
            rows.append(row)
    except csv.Error as error:
        raise click.ClickException(f"line {reader.line_num}: not valid CSV ({error})") from None
    return rows


def _parent_cycle(code: str, parent_of: dict[str, str]) -> list[str] | None:
    """Return the codes of the cycle through `code`, ending where it began, if any."""
    path = [code]
    current = parent_of.get(code)
    while current and current not in path:
        path.append(current)
        current = parent_of.get(current)
    return [*path, code] if current == code else None


def _check_agency_rows(rows: list[_AgencyRow], known: dict[str, Agency]) -> None:
    """Note every problem of every row, against the file as a whole and the database."""
    first_line: dict[str, int] = {}
    for row in rows:
        if row.code and row.code not in first_line:
            first_line[row.code] = row.line
    # The parents as they would be after the import: the file's, else the database's.
    parent_of = {
        code: agency.parent.code if agency.parent else "" for code, agency in known.items()
    }
    parent_of.update({row.code: row.parent for row in rows if first_line.get(row.code) == row.line})

    for row in rows:
        if not row.code:
            row.problems.append("missing code")
        elif len(row.code) > AGENCY_CODE_MAX_LENGTH:
            row.problems.append(f"code is longer than {AGENCY_CODE_MAX_LENGTH} characters")
        elif not CODE_PATTERN.match(row.code):
            row.problems.append(f"code {row.code!r} may hold only letters A-Z, digits, '-' and '_'")
        elif first_line[row.code] != row.line:
            row.problems.append(
                f"duplicate code {row.code!r} (first on line {first_line[row.code]})"
            )
        if not row.name:
            row.problems.append("missing name")
        elif len(row.name) > AGENCY_NAME_MAX_LENGTH:
            row.problems.append(f"name is longer than {AGENCY_NAME_MAX_LENGTH} characters")
        if row.level not in AGENCY_LEVELS:
            found = f"level {row.level!r}" if row.level else "missing level"
            row.problems.append(f"{found}: expected {' or '.join(AGENCY_LEVELS)}")
        if row.parent and row.parent not in parent_of:
            row.problems.append(f"unknown parent {row.parent!r}")
        elif row.parent and row.code and first_line[row.code] == row.line:
            cycle = _parent_cycle(row.code, parent_of)
            if cycle:
                row.problems.append(f"parent cycle {' -> '.join(cycle)}")


def _apply_agency_rows(
    session: Session, rows: list[_AgencyRow], known: dict[str, Agency]
) -> tuple[int, int, int]:
    """Create or update an agency per row; return how many were created, updated, unchanged."""
    agencies = dict(known)
    created = {row.code for row in rows if row.code not in known}
    for row in rows:
        if row.code in created:
            agencies[row.code] = Agency(code=row.code, name=row.name, level=row.level)
            session.add(agencies[row.code])
    # Every agency exists before any parent is set, whatever the order of the file.
    session.flush()
    updated = 0
    for row in rows:
        agency = agencies[row.code]
        parent = agencies[row.parent] if row.parent else None
        if (agency.name, agency.level, agency.parent) != (row.name, row.level, parent):
            agency.name, agency.level, agency.parent = row.name, row.level, parent
            if row.code not in created:
                updated += 1
    session.flush()
    return len(created), updated, len(rows) - len(created) - updated


@agencies_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def agencies_import(file: Path) -> None:
    """Create or update agencies from a CSV file with the columns code,name,level,parent.

    The file is checked whole first: when any row is wrong, every wrong row is listed by its
    line number and nothing is imported. Running it again with the same file changes nothing.
    """
    rows = _read_agency_rows(file)
    with _transaction() as session:
        known = {agency.code: agency for agency in session.scalars(select(Agency))}
        _check_agency_rows(rows, known)
        bad = [row for row in rows if row.problems]
        if bad:
            for row in bad:
                click.echo(f"line {row.line}: {'; '.join(row.problems)}", err=True)
            noun = "row is" if len(bad) == 1 else "rows are"
            raise click.ClickException(
                f"{len(bad)} {noun} wrong in {file.name}; nothing was imported"
            )
        created, updated, unchanged = _apply_agency_rows(session, rows, known)
        audit.record(
            session,
            "agency.imported",
            actor=None,
            file=file.name,
            created=created,
            updated=updated,
            unchanged=unchanged,
        )
    click.echo(f"{created} created, {updated} updated, {unchanged} unchanged")


@agencies_cli.command("list")
def agencies_list() -> None:
    """Show every agency: code, level, parent code and name."""
    parent = aliased(Agency)
    rows = db.session.execute(
        select(Agency, parent.code)
        .outerjoin(parent, Agency.parent_id == parent.id)
        .order_by(Agency.code)
    ).all()
    if not rows:
        click.echo("no agencies yet")
        return
    _echo_table(
        ("code", "level", "parent", "name"),
        [(agency.code, agency.level, code or "-", agency.name) for agency, code in rows],
    )


# tokens -----------------------------------------------------------------------------------


@tokens_cli.command("create")
@click.argument("email")
@click.option("--label", default="", help="What the token is for, e.g. the report script.")
@click.option(
    "--days", type=click.IntRange(1, MAX_TOKEN_DAYS), default=DEFAULT_TOKEN_DAYS,
    show_default=True, help="How many days the token works; then it is refused.",
)
@_actor_option
def tokens_create(email: str, label: str, days: int, actor_email: str | None) -> None:
    """Create a personal API token for the manager or admin with EMAIL, and print it once."""
    label = clean_text(label) or ""
    if len(label) > LABEL_MAX_LENGTH:
        raise click.ClickException(f"the label is longer than {LABEL_MAX_LENGTH} characters")
    with _transaction() as session:
        user = _user_or_fail(session, email)
        token, secret = create_token(
            session, user, label=label, days=days, actor=_actor(session, actor_email)
        )
    click.echo(f"created token {token.id} for {user.email}" + (f" ({label})" if label else ""))
    click.echo(f"it expires {_when(token.expires_at)}")
    click.echo("This is the only time the token is shown; keep it somewhere safe now:")
    click.echo(secret)


@tokens_cli.command("list")
@click.argument("email", required=False)
def tokens_list(email: str | None) -> None:
    """Show the API tokens, of everyone or of the account with EMAIL (never their secret)."""
    session = db.session
    query = select(ApiToken, User.email).join(User, ApiToken.user_id == User.id)
    if email is not None:
        query = query.where(ApiToken.user_id == _user_or_fail(session, email).id)
    rows = session.execute(query.order_by(ApiToken.id)).all()
    if not rows:
        click.echo("no API tokens")
        return
    now = utcnow()
    _echo_table(
        ("id", "owner", "prefix", "label", "created", "expires", "last used", "status"),
        [
            (
                str(token.id),
                owner,
                token.prefix,
                token.label or "-",
                _when(token.created_at),
                _when(token.expires_at),
                _when(token.last_used_at),
                f"revoked {_when(token.revoked_at)}" if token.revoked_at is not None
                else "expired" if token.is_expired(now) else "active",
            )
            for token, owner in rows
        ],
    )


@tokens_cli.command("revoke")
@click.argument("token_id", metavar="ID")
@_actor_option
def tokens_revoke(token_id: str, actor_email: str | None) -> None:
    """Revoke the API token with ID (see `tokens list`); it stops working at once."""
    with _transaction() as session:
        token = session.get(ApiToken, int(token_id)) if token_id.strip().isdigit() else None
        if token is None:
            raise click.ClickException(f"no API token with the id {token_id!r}")
        if token.revoked_at is not None:
            click.echo(f"token {token.id} of {token.user.email} was already revoked")
            return
        revoke_token(session, token, actor=_actor(session, actor_email))
    click.echo(f"revoked token {token.id} of {token.user.email}")


def init_app(app: Flask) -> None:
    for group in (users_cli, agencies_cli, tokens_cli):
        app.cli.add_command(group)
