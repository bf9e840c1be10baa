"""Citizens' comments and the review of responses left out of the figures (managers, admins)."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review", template_folder="templates")

from survey_app.review import views  # noqa: E402, F401  (registers the routes)
