"""The managers' dashboard: SIPAS-style figures by period, agency, counter and sector."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")

from survey_app.dashboard import views  # noqa: E402, F401  (registers the routes)
