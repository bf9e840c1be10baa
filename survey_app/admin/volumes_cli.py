"""`flask volumes import FILE.csv`: load the dossiers received, from the one-stop system's report.

The file has the columns agency,sector,date,received (services/volumes.py says what each
holds). It is checked whole first: when any row is wrong, every problem is listed by its
line number and nothing is loaded. Loading a file again replaces the same agency, sector
and day. The load is recorded in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from survey_app.extensions import db
from survey_app.services import volumes
from survey_app.services.periods import deployment_zone

volumes_cli = AppGroup("volumes", help="Dossiers received per agency, sector and day or month.")


@volumes_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def import_volumes(file: Path) -> None:
    """Load FILE (CSV: agency,sector,date,received); all rows, or none when one is wrong.

    A date is a day (YYYY-MM-DD) or a month (YYYY-MM: the month's total, stored on its first
    day and replacing the days of that month).
    """
    if file.stat().st_size > volumes.MAX_FILE_BYTES:
        raise click.ClickException(f"{file.name}: the file is larger than "
                                   f"{volumes.MAX_FILE_BYTES // (1024 * 1024)} MB: split it")
    try:
        rows = volumes.read_csv(file.read_bytes())
        result = volumes.load(
            db.session, rows, visible=None, today=datetime.now(deployment_zone()).date(),
            file=file.name,
        )
    except volumes.VolumeError as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{file.name}: {error}") from None
    db.session.commit()
    click.echo(
        f"loaded {result.rows} rows of {file.name} ({result.first_day:%Y-%m-%d} to "
        f"{result.last_day:%Y-%m-%d}): {result.created} new, {result.updated} replaced"
        + (f", {result.cleared} days replaced by their month's total" if result.cleared else "")
        + f"; {result.received} dossiers received"
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(volumes_cli)
