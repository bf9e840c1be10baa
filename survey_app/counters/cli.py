"""`flask codes ...`: list, create, replace and revoke survey codes from the command line.

A change names the account it is made for (`--by EMAIL`): the permission table decides,
as it does on the pages (staff of the code's agency, or an admin), and the audit log
records that account.
"""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Agency, Counter, Sector, SurveyCode, User
from survey_app.services.access import can
from survey_app.services.accounts import find_agency, find_user
from survey_app.services.codes import survey_url
from survey_app.services.counters import (
    CodeError,
    find_or_create_counter,
    issue_code,
    replace_code,
    revoke_code,
)
from survey_app.text import clean_code, clean_survey_code, clean_text

codes_cli = AppGroup("codes", help="Survey codes (the QR codes at the counters).")


BY_OPTION = click.option(
    "--by", "actor_email", required=True, metavar="EMAIL",
    help="The account making the change: staff of the code's agency, or an admin.",
)


def _acting_user(email: str, action: str, agency: Agency) -> User:
    """Return the account, if the permission table lets it do `action` at the agency."""
    user = find_user(db.session, email)
    if user is None:
        raise click.ClickException(f"no account {email!r}")
    if not can(user, action, agency):
        raise click.ClickException(
            f"{user.email} ({user.role}) may not {action} at {agency.code}: only the "
            "agency's staff and admins may (see services/access.py)"
        )
    return user


def _code_or_fail(code: str) -> SurveyCode:
    survey_code = db.session.scalar(
        select(SurveyCode).where(
            SurveyCode.code == (clean_survey_code(code) or ""), SurveyCode.kind == "counter"
        )
    )
    if survey_code is None:
        raise click.ClickException(f"no survey code {code!r}")
    return survey_code


def _agency_or_fail(code: str) -> Agency:
    agency = find_agency(db.session, code)
    if agency is None:
        raise click.ClickException(f"no agency with code {code!r}")
    return agency


@codes_cli.command("list")
@click.option("--agency", "agency_code", help="Only this agency's codes.")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked codes.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_codes(agency_code: str | None, include_revoked: bool, as_json: bool) -> None:
    """List the counters' survey codes with their address, agency, counter and sector."""
    query = (
        select(SurveyCode)
        .join(SurveyCode.agency)
        .join(SurveyCode.counter)
        .where(SurveyCode.kind == "counter")
    )
    if agency_code:
        query = query.where(SurveyCode.agency_id == _agency_or_fail(agency_code).id)
    if not include_revoked:
        query = query.where(SurveyCode.revoked_at.is_(None))
    rows = db.session.scalars(query.order_by(Agency.code, Counter.name, SurveyCode.id)).all()
    items = [
        {
            "code": c.code,
            "url": survey_url(c.code),
            "agency": c.agency.code,
            "agency_name": c.agency.name,
            "counter": c.counter.name,
            "sector": c.sector.code,
            "sector_label": c.sector.label_vi,
            "active": c.is_active,
            "created_at": c.created_at.isoformat(),
            "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
        }
        for c in rows
    ]
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    for item in items:
        state = "active" if item["active"] else "revoked"
        click.echo(
            f"{item['code']}  {state:<7}  {item['agency']:<16}  {item['counter']:<12}  "
            f"{item['sector']:<12}  {item['url']}"
        )


@codes_cli.command("create")
@click.option("--agency", "agency_code", required=True, help="The agency's code.")
@click.option(
    "--counter",
    "counter_name",
    required=True,
    help="The counter's name; created when the agency has none of that name.",
)
@click.option("--sector", "sector_code", required=True, help="The sector's code, e.g. DAT_DAI.")
@BY_OPTION
def create_code(agency_code: str, counter_name: str, sector_code: str, actor_email: str) -> None:
    """Issue a code for a counter and sector; print its address alone on the last line."""
    agency = _agency_or_fail(agency_code)
    actor = _acting_user(actor_email, "code.create", agency)
    sector = db.session.scalar(select(Sector).where(Sector.code == clean_code(sector_code)))
    if sector is None:
        raise click.ClickException(f"no sector with code {sector_code!r}")
    name = clean_text(counter_name)
    if not name or len(name) > 100:
        raise click.ClickException("the counter name must have 1 to 100 characters")
    counter = find_or_create_counter(db.session, agency, name, actor=actor)
    code = issue_code(db.session, agency, counter, sector, actor=actor)
    db.session.commit()
    click.echo(f"created {code.code} for {agency.code} · {counter.name} · {sector.code}")
    click.echo(survey_url(code.code))


@codes_cli.command("revoke")
@click.argument("code")
@BY_OPTION
def revoke(code: str, actor_email: str) -> None:
    """Withdraw a code: its address answers 410 from now on."""
    survey_code = _code_or_fail(code)
    actor = _acting_user(actor_email, "code.revoke", survey_code.agency)
    try:
        revoke_code(db.session, survey_code, actor=actor)
    except CodeError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"revoked {survey_code.code}")


@codes_cli.command("replace")
@click.argument("code")
@BY_OPTION
def replace(code: str, actor_email: str) -> None:
    """Revoke a misused code and issue its successor; print the new address last."""
    survey_code = _code_or_fail(code)
    actor = _acting_user(actor_email, "code.replace", survey_code.agency)
    try:
        new = replace_code(db.session, survey_code, actor=actor)
    except CodeError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"replaced {survey_code.code} by {new.code}")
    click.echo(survey_url(new.code))


def init_app(app: Flask) -> None:
    app.cli.add_command(codes_cli)
