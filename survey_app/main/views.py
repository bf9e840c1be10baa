"""The home page, the privacy notice, and the health check the proxy and the monitoring call."""

from __future__ import annotations

from flask import current_app, jsonify, render_template
from flask_babel import ngettext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.main import bp


@bp.get("/")
def index() -> str:
    """Explain the service and offer a box to type a survey code."""
    return render_template("main/index.html")


@bp.get("/quyen-rieng-tu")
def privacy() -> str:
    """Tell a citizen who keeps the survey's data, what, why, for how long, and whom to ask."""
    config = current_app.config
    return render_template(
        "main/privacy.html",
        controller_name=config["DATA_CONTROLLER_NAME"],
        controller_address=config["DATA_CONTROLLER_ADDRESS"],
        controller_contact=config["DATA_CONTROLLER_CONTACT"],
        dossier_days=_days(config["DOSSIER_HASH_RETENTION_DAYS"]),
        retention_days=_days(config["RETENTION_DAYS"]),
    )


def _days(n: int) -> str:
    return ngettext("%(num)d ngày", "%(num)d ngày", n)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Say whether this worker can reach the database (200) or not (503).

    Public and GET only, so no CSRF token applies. The answer names no host, database or
    error: what went wrong goes to the server's log, not to whoever asks.
    """
    try:
        db.session.execute(text("SELECT 1"))
        body, status = {"status": "ok", "database": "ok"}, 200
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable (%s)", type(error).__name__)
        body, status = {"status": "error", "database": "unreachable"}, 503
    response = jsonify(body)
    # A cached "ok" would hide an outage from the proxy.
    response.headers["Cache-Control"] = "no-store"
    return response, status
