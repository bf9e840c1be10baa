"""Alerts: the inbox of managers, one alert's page and history, the rules, the e-mail choice."""

from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/alerts", template_folder="templates")

from survey_app.alerts import views  # noqa: E402, F401  (registers the routes)
