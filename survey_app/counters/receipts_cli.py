"""`flask receipts ...`: the keys that sign receipt links, and minting a link by hand.

Keys are the server operator's business, like `flask users`: whoever runs the commands
holds the database already. A new key's secret is shown once, at creation, with the ids
the one-stop system puts in its links (docs/receipts.md); it is never shown again.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Agency, ReceiptKey, Sector, utcnow
from survey_app.services import qr
from survey_app.services.accounts import find_agency
from survey_app.services.periods import local_date
from survey_app.services.receipts import (
    MintError,
    ReceiptKeyError,
    create_key,
    list_keys,
    mint_links,
    retire_key,
    valid_days,
)
from survey_app.text import clean_code

receipts_cli = AppGroup(
    "receipts", help="Receipt links: the survey link printed as a QR on each dossier's receipt."
)
key_cli = AppGroup("key", help="The agencies' secrets that sign receipt links.")
receipts_cli.add_command(key_cli)

AGENCY_OPTION = click.option("--agency", "agency_code", required=True, help="The agency's code.")


def _agency_or_fail(code: str) -> Agency:
    agency = find_agency(db.session, clean_code(code) or "")
    if agency is None:
        raise click.ClickException(f"no agency with code {code!r}")
    return agency


def _when(key: ReceiptKey) -> str:
    created = f"created {key.created_at:%Y-%m-%d %H:%M} UTC"
    if key.retired_at is None:
        return f"active   {created}"
    return f"retired  {created}, retired {key.retired_at:%Y-%m-%d %H:%M} UTC"


def _echo_sectors() -> None:
    """Print the sector ids a link carries, with their codes and names."""
    click.echo("sector ids:")
    for sector in db.session.scalars(select(Sector).order_by(Sector.position, Sector.id)):
        click.echo(f"  {sector.id:>5}  {sector.code:<24}  {sector.label_vi}")


@key_cli.command("create")
@AGENCY_OPTION
def key_create(agency_code: str) -> None:
    """Give an agency a new key; print its secret once, with the ids links carry."""
    agency = _agency_or_fail(agency_code)
    key = create_key(db.session, agency)
    db.session.commit()
    click.echo(f"created receipt key {key.id} for {agency.code} ({agency.name})")
    click.echo(f"key id: {key.id}")
    click.echo(f"agency id: {agency.id}")
    _echo_sectors()
    click.echo("The secret is shown only now. Give it to the one-stop system over a safe channel:")
    click.echo(key.secret)


@key_cli.command("list")
@click.option("--agency", "agency_code", help="Only this agency's keys.")
def key_list(agency_code: str | None) -> None:
    """List the keys (never their secrets) with the agency and sector ids links carry."""
    agency = _agency_or_fail(agency_code) if agency_code else None
    keys = list_keys(db.session, agency)
    if not keys:
        click.echo("no receipt keys" + (f" for {agency.code}" if agency else ""))
    shown: int | None = None
    for key in keys:
        if key.agency_id != shown:
            shown = key.agency_id
            click.echo(f"agency {key.agency.code} (agency id {key.agency_id}): {key.agency.name}")
        click.echo(f"  key id {key.id:>5}  {_when(key)}")
    _echo_sectors()


@key_cli.command("retire")
@AGENCY_OPTION
@click.option("--key", "key_id", required=True, type=int, help="The key's id (see `key list`).")
def key_retire(agency_code: str, key_id: int) -> None:
    """Retire a key: every link it signed is refused from now on, and it signs no more."""
    agency = _agency_or_fail(agency_code)
    key = db.session.get(ReceiptKey, key_id) if 0 < key_id < 2**31 else None
    if key is None or key.agency_id != agency.id:
        raise click.ClickException(f"{agency.code} has no receipt key {key_id}")
    try:
        retire_key(db.session, key)
    except ReceiptKeyError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"retired receipt key {key.id} of {agency.code}: its links are refused from now on")


@receipts_cli.command("mint")
@AGENCY_OPTION
@click.option("--sector", "sector_code", required=True, help="The sector's code, e.g. DAT_DAI.")
@click.option("--dossier", required=True, help="The dossier code, as on its receipt.")
@click.option(
    "--png", "png_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the link's QR code to this PNG file.",
)  # fmt: skip
def mint(agency_code: str, sector_code: str, dossier: str, png_path: Path | None) -> None:
    """Mint a dossier's receipt link, issued today; print it alone on the last line."""
    agency = _agency_or_fail(agency_code)
    sector = db.session.scalar(select(Sector).where(Sector.code == clean_code(sector_code)))
    if sector is None:
        raise click.ClickException(f"no sector with code {sector_code!r}")
    today = local_date(utcnow())
    try:
        (link,) = mint_links(db.session, agency, sector, [dossier], today, via="cli")
    except MintError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    if png_path is not None:
        png_path.write_bytes(qr.qr_png(link.url))
    last_day = today + timedelta(days=valid_days())
    click.echo(
        f"receipt link for dossier {link.dossier} of {agency.code} · {sector.code}, "
        f"open until {last_day:%Y-%m-%d}" + (f"; QR code in {png_path}" if png_path else "")
    )
    click.echo(link.url)


def init_app(app: Flask) -> None:
    app.cli.add_command(receipts_cli)
