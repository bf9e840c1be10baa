"""Reading the form aloud: each question's clip, and the admin page that replaces a clip."""

from flask import Blueprint

bp = Blueprint("voice", __name__, template_folder="templates")

from survey_app.voice import views  # noqa: E402, F401  (registers the routes)
