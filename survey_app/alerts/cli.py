"""`flask alerts`: judge the periodic rules, and send the e-mail of the outbox (for cron)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from survey_app.alerts.mailing import compose
from survey_app.extensions import db
from survey_app.services import alerts, mail

alerts_cli = AppGroup("alerts", help="Alerts to managers: evaluate the rules, send e-mail.")


@alerts_cli.command("evaluate")
def evaluate_command() -> None:
    """Judge the rules on recent figures (below target, response rates); e.g. hourly."""
    raised = alerts.evaluate(db.session)
    db.session.commit()
    click.echo(f"alerts raised: {len(raised)}")


def _send(mode: str) -> None:
    url = current_app.config.get("SMTP_URL")
    if not url:
        click.echo("SMTP_URL is not set: alerts stay in the inbox, nothing to send")
        return
    try:
        settings = mail.parse_smtp_url(url)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    sent = failed = 0
    for outgoing in alerts.pending_mail(db.session, mode):
        try:
            mail.send(settings, compose(outgoing, mode))
        except Exception as error:  # noqa: BLE001 - any failure keeps the mail for next time
            alerts.mark_failed(db.session, outgoing, f"{type(error).__name__}: {error}")
            failed += 1
        else:
            alerts.mark_sent(db.session, outgoing)
            sent += 1
        db.session.commit()  # each mail recorded as soon as it left, never sent twice
    db.session.commit()
    click.echo(f"e-mails sent: {sent}; failed, kept to try again: {failed}")
    if failed:
        raise SystemExit(1)


@alerts_cli.command("send")
def send_command() -> None:
    """Send each waiting alert to those who want each one; e.g. every 5 minutes."""
    _send("each")


@alerts_cli.command("digest")
def digest_command() -> None:
    """Send each person who chose the daily digest one e-mail of their new alerts."""
    _send("digest")


def init_app(app: Flask) -> None:
    app.cli.add_command(alerts_cli)
