"""Downloads for managers and admins: tallies and raw responses, as CSV or XLSX."""

from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/exports")

from survey_app.exports import views  # noqa: E402, F401  (registers the routes)
