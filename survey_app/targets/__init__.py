"""The targets each year's figures are judged against (admins only)."""

from flask import Blueprint

bp = Blueprint("targets", __name__, url_prefix="/admin/targets", template_folder="templates")

from survey_app.targets import views  # noqa: E402, F401  (registers the routes)
