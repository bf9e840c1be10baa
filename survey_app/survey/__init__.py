"""The citizen's survey: the form behind each QR code."""

from flask import Blueprint

bp = Blueprint("survey", __name__, template_folder="templates")

from survey_app.survey import kiosk_views, receipt_views, views  # noqa: E402, F401  (registers the routes)
