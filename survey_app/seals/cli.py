"""`flask seals close` and `flask seals verify`: seal the finished days, check the chain.

`close` is meant for a cron line a little after local midnight (docs/seals.md); it seals
each finished day once, however often it runs, and two runs at once seal each day once.
"""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError, OperationalError

from survey_app.extensions import db
from survey_app.services import seals
from survey_app.services.periods import deployment_zone

seals_cli = AppGroup("seals", help="Sealed daily totals: seal finished days, check the chain.")

ATTEMPTS = 3


@seals_cli.command("close")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Seal no day after this one (YYYY-MM-DD); by default up to yesterday.")
def close(until: datetime | None) -> None:
    """Seal every finished local day that is not sealed yet, up to yesterday."""
    today = datetime.now(deployment_zone()).date()
    last: date | None = until.date() if until is not None else None
    if last is not None and last >= today:
        raise click.ClickException(f"{last} is not over yet: only days before {today} "
                                   "can be sealed")
    for attempt in range(ATTEMPTS):
        try:
            appended = seals.close(db.session, today, last)
            db.session.commit()
            break
        except (IntegrityError, OperationalError):
            # Another run sealed the same days first (or held the database): start again,
            # and find them sealed.
            db.session.rollback()
            if attempt == ATTEMPTS - 1:
                raise
    if not appended:
        click.echo("nothing to seal: every finished day is sealed")
        return
    first, end = appended[0], appended[-1]
    click.echo(f"sealed {len(appended)} days, {first.day} to {end.day} "
               f"(seals #{first.sequence} to #{end.sequence}); latest digest {end.digest}")


@seals_cli.command("verify")
def verify() -> None:
    """Recompute every sealed day from the rollups and check every link of the chain."""
    result = seals.verify(db.session)
    db.session.rollback()
    if result.holds:
        click.echo(f"ok: {result.seals} seals over {result.days} days; every link and every "
                   "sealed day matches the rollups")
        return
    for problem in result.problems:
        click.echo(problem, err=True)
    count = len(result.problems)
    raise click.ClickException(
        f"{count} problem{'' if count == 1 else 's'} in {result.seals} seals "
        f"over {result.days} days"
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(seals_cli)
