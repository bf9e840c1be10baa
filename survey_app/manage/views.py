"""Overview of the agencies in the user's scope, and each agency's counters and codes."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from survey_app.auth.access import (
    agency_or_403,
    can_manage_codes,
    roles_required,
    visible_agency_ids,
)
from survey_app.codes import survey_url
from survey_app.counters.forms import build_code_form
from survey_app.extensions import db
from survey_app.i18n import current_language
from survey_app.manage import bp
from survey_app.manage.services import agency_overview, codes_of_agency
from survey_app.models import Agency


@bp.get("/")
@roles_required("admin", "manager", "staff")
def index() -> str:
    """List the agencies the user may see."""
    rows = agency_overview(db.session, visible_agency_ids(db.session, current_user))
    return render_template("manage/index.html", rows=rows)


@bp.get("/agencies/<int:agency_id>")
@roles_required("admin", "manager", "staff")
def agency(agency_id: int) -> tuple[str, int]:
    """Show one agency's counters and survey codes, with how many answers each brings."""
    return render_agency(agency_or_403(db.session, current_user, agency_id))


def render_agency(agency: Agency, status: int = 200) -> tuple[str, int]:
    """Render an agency's codes page; staff of the agency and admins also get the code form."""
    may_manage = can_manage_codes(db.session, current_user, agency.id)
    code_form = build_code_form(db.session, agency, current_language()) if may_manage else None
    page = render_template(
        "manage/agency.html",
        agency=agency,
        codes=codes_of_agency(db.session, agency),
        counters=agency.counters,
        survey_url=survey_url,
        may_manage=may_manage,
        code_form=code_form,
    )
    return page, status
