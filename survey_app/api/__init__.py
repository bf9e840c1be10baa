"""The JSON API, version 1: personal tokens in `Authorization: Bearer`, the owner's scope."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from survey_app.api import views  # noqa: E402, F401  (registers the routes)
