"""Overview of the agencies in the user's scope, and each agency's counters and codes."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from survey_app.auth.access import agency_or_403, roles_required, visible_agency_ids
from survey_app.codes import survey_url
from survey_app.extensions import db
from survey_app.manage import bp
from survey_app.manage.services import agency_overview, codes_of_agency


@bp.get("/")
@roles_required("admin", "manager", "staff")
def index() -> str:
    """List the agencies the user may see."""
    rows = agency_overview(db.session, visible_agency_ids(db.session, current_user))
    return render_template("manage/index.html", rows=rows)


@bp.get("/agencies/<int:agency_id>")
@roles_required("admin", "manager", "staff")
def agency(agency_id: int) -> str:
    """Show one agency's counters and survey codes, with how many answers each brings."""
    agency = agency_or_403(db.session, current_user, agency_id)
    codes = codes_of_agency(db.session, agency)
    return render_template("manage/agency.html", agency=agency, codes=codes, survey_url=survey_url)
