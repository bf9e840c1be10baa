"""Accounts: signing in and out, passwords, roles and the agencies each may see."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from survey_app.auth import views  # noqa: E402, F401  (registers the routes)
