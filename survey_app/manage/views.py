"""Overview of the agencies in the user's scope, and each agency's counters and codes."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from survey_app.extensions import db
from survey_app.manage import bp
from survey_app.models import Agency
from survey_app.services.access import can, visible_agency_ids
from survey_app.services.agencies import agency_overview, codes_of_agency
from survey_app.services.codes import survey_url
from survey_app.services.receipts import receipt_counter_ids
from survey_app.web.access import agency_or_403, permission_required
from survey_app.web.code_forms import build_code_form
from survey_app.web.i18n import current_language


@bp.get("/")
@permission_required("codes.view")
def index() -> str:
    """List the agencies the user may see."""
    rows = agency_overview(db.session, visible_agency_ids(db.session, current_user, "codes.view"))
    return render_template("manage/index.html", rows=rows)


@bp.get("/agencies/<int:agency_id>")
@permission_required("codes.view")
def agency(agency_id: int) -> tuple[str, int]:
    """Show one agency's counters and survey codes, with how many answers each brings."""
    return render_agency(agency_or_403(db.session, current_user, agency_id, "codes.view"))


def render_agency(agency: Agency, status: int = 200) -> tuple[str, int]:
    """Render an agency's codes page; staff of the agency and admins also get the code form."""
    may_create = can(current_user, "code.create", agency)
    code_form = build_code_form(db.session, agency, current_language()) if may_create else None
    hidden = receipt_counter_ids(db.session, agency.id)  # no QR code to print for them
    page = render_template(
        "manage/agency.html",
        agency=agency,
        codes=codes_of_agency(db.session, agency),
        counters=[c for c in agency.counters if c.id not in hidden],
        survey_url=survey_url,
        code_form=code_form,
    )
    return page, status
