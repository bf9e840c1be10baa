"""The home page, the privacy notice, and the health check the proxy and the monitoring call."""

from __future__ import annotations

from flask import current_app, jsonify, render_template
from flask_babel import ngettext
from werkzeug.wrappers import Response

from survey_app.main import bp
from survey_app.web.health import OK, run_checks


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
    """Say whether this worker is fit to serve (200) or not (503), one word per check.

    The database answers a SELECT 1; Redis, when the rate limits are counted there, answers
    a PING within a second; the instance folder's disk has HEALTHZ_MIN_FREE_MB free. Public
    and GET only, so no CSRF token applies. The answer names no host, path or error: what
    went wrong goes to the server's log, not to whoever asks.
    """
    checks = run_checks()
    is_well = all(answer == OK for answer in checks.values())
    response = jsonify({"status": "ok" if is_well else "error", **checks})
    # A cached "ok" would hide an outage from the proxy.
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if is_well else 503
