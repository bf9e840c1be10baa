"""Administration: accounts, agencies, counters, sectors and the audit log (admins only)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

from survey_app.admin import views  # noqa: E402, F401  (registers the routes)
