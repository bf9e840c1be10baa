"""Pages that belong to no feature: the home page."""

from flask import Blueprint

bp = Blueprint("main", __name__, template_folder="templates")

from survey_app.main import views  # noqa: E402, F401  (registers the routes)
