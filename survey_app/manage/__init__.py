"""The signed-in area of staff and managers: their agencies, counters and codes."""

from flask import Blueprint

bp = Blueprint("manage", __name__, url_prefix="/manage", template_folder="templates")

from survey_app.manage import views  # noqa: E402, F401  (registers the routes)
