"""Staff pages: create, replace and revoke the codes of an agency's counters."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from survey_app.counters import bp
from survey_app.extensions import db
from survey_app.models import Agency, Counter, Sector, SurveyCode
from survey_app.services.codes import survey_url
from survey_app.services.counters import (
    CodeError,
    find_or_create_counter,
    issue_code,
    replace_code,
    revoke_code,
)
from survey_app.text import clean_survey_code
from survey_app.web.access import (
    agency_or_403,
    permission_required,
    survey_code_or_403,
)
from survey_app.web.code_forms import NEW_COUNTER, build_code_form
from survey_app.web.i18n import current_language


def _manageable_agency(agency_id: int) -> Agency:
    return agency_or_403(db.session, current_user, agency_id, "code.create")


@bp.post("/agencies/<int:agency_id>/codes")
@permission_required("code.create")
def create(agency_id: int) -> Any:
    """Issue a code for one counter (existing or new) and one sector."""
    agency = _manageable_agency(agency_id)
    form = build_code_form(db.session, agency, current_language(), request.form)
    if not form.validate():
        page = render_template("counters/new_code.html", agency=agency, code_form=form)
        return page, 400
    # The form's choices are this agency's counters and the sectors: both exist.
    if form.counter.data == NEW_COUNTER:
        counter = find_or_create_counter(db.session, agency, form.new_counter_name.data)
    else:
        counter = db.session.get_one(Counter, int(form.counter.data))
    sector = db.session.get_one(Sector, int(form.sector.data))
    code = issue_code(db.session, agency, counter, sector)
    db.session.commit()
    flash(
        _(
            "Đã tạo mã %(code)s cho %(counter)s · %(sector)s.",
            code=code.code,
            counter=counter.name,
            sector=sector.label(current_language()),
        ),
        "success",
    )
    return redirect(url_for("manage.agency", agency_id=agency.id, _anchor=f"code-{code.code}"))


def _code_to_change(code: str, action: str) -> SurveyCode:
    normalised = clean_survey_code(code) or abort(404)
    survey_code = survey_code_or_403(db.session, current_user, normalised, action)
    if not survey_code.is_active:
        abort(410)
    return survey_code


@bp.route("/codes/<code>/revoke", methods=["GET", "POST"])
@permission_required("code.revoke")
def revoke(code: str) -> Any:
    """Withdraw a code after a confirmation: its QR stops opening the form."""
    survey_code = _code_to_change(code, "code.revoke")
    if request.method == "GET":
        return render_template(
            "counters/confirm.html", survey_code=survey_code, action="revoke", survey_url=survey_url
        )
    try:
        revoke_code(db.session, survey_code)
    except CodeError:
        abort(410)
    db.session.commit()
    flash(
        _("Đã thu hồi mã %(code)s. Mã QR này không còn mở được phiếu.", code=survey_code.code),
        "success",
    )
    return redirect(url_for("manage.agency", agency_id=survey_code.agency_id))


@bp.route("/codes/<code>/replace", methods=["GET", "POST"])
@permission_required("code.replace")
def replace(code: str) -> WerkzeugResponse | str:
    """Revoke a misused code and issue a new one for the same counter and sector."""
    survey_code = _code_to_change(code, "code.replace")
    if request.method == "GET":
        return render_template(
            "counters/confirm.html",
            survey_code=survey_code,
            action="replace",
            survey_url=survey_url,
        )
    new = replace_code(db.session, survey_code)
    db.session.commit()
    flash(
        _(
            "Đã thu hồi mã %(old)s và tạo mã mới %(new)s. Vui lòng in và dán mã mới.",
            old=survey_code.code,
            new=new.code,
        ),
        "success",
    )
    return redirect(url_for("manage.agency", agency_id=new.agency_id, _anchor=f"code-{new.code}"))
