"""`flask responses ...`: erase one response's comment at a citizen's request.

The command names the account it acts for (`--by EMAIL`): the permission table decides, as
it does on the review page (admins only), and the audit log records that account with the
reason and the system user who ran the command.
"""

from __future__ import annotations

import getpass

import click
from flask import Flask
from flask.cli import AppGroup

from survey_app.extensions import db
from survey_app.services.access import can
from survey_app.services.accounts import find_user
from survey_app.services.review import (
    ERASE_REASON_MAX_LENGTH,
    Outcome,
    erase_comment,
    response_for_change,
)
from survey_app.text import clean_text

responses_cli = AppGroup("responses", help="Stored responses: erase one comment.")


def _system_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return None


@responses_cli.command("erase-comment")
@click.argument("response_id", type=int)
@click.option("--reason", required=True,
              help="Why, for the audit log: e.g. the citizen's request and its date.")
@click.option("--by", "actor_email", required=True, metavar="EMAIL",
              help="The admin account erasing the comment.")
def erase_comment_command(response_id: int, reason: str, actor_email: str) -> None:
    """Erase the comment of response RESPONSE_ID for good; answers and tallies stay."""
    cleaned = clean_text(reason)
    if not cleaned:
        raise click.ClickException("give a reason (--reason) for the audit log")
    if len(cleaned) > ERASE_REASON_MAX_LENGTH:
        raise click.ClickException(
            f"the reason is longer than {ERASE_REASON_MAX_LENGTH} characters")
    user = find_user(db.session, actor_email)
    if user is None:
        raise click.ClickException(f"no account {actor_email!r}")
    if not can(user, "comment.erase"):
        raise click.ClickException(
            f"{user.email} ({user.role}) may not erase comments: only admins may "
            "(see services/access.py)")
    response = response_for_change(db.session, response_id)
    if response is None:
        raise click.ClickException(f"no response #{response_id}")
    outcome = erase_comment(db.session, response, cleaned, actor=user, via="cli",
                            system_user=_system_user())
    if outcome is Outcome.UNCHANGED:
        db.session.rollback()
        click.echo(f"response #{response_id} has no comment: nothing was changed")
        return
    db.session.commit()
    click.echo(f"the comment of response #{response_id} was erased; its answers still count")


def init_app(app: Flask) -> None:
    app.cli.add_command(responses_cli)
