"""Sealed daily totals, in public: the chain of seals, each day's digests, and their JSON."""

from flask import Blueprint

bp = Blueprint("seals", __name__, template_folder="templates")

from survey_app.seals import views  # noqa: E402, F401  (registers the routes)
