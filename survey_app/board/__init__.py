"""The public transparency board: each published agency's figures by quarter, at /cong-khai."""

from flask import Blueprint

bp = Blueprint("board", __name__, template_folder="templates")

from survey_app.board import views  # noqa: E402, F401  (registers the routes)
