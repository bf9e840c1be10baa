"""The targets of each year and the scopes they are set for: list, add, change (admins only)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.models import TargetScope, TargetYear, utcnow
from survey_app.services.directory import list_sectors
from survey_app.services.periods import local_date
from survey_app.services.targets import (
    TargetError,
    create_scope,
    create_target_year,
    list_scopes,
    list_target_years,
    thresholds_of,
    update_scope,
    update_target_year,
    year_in_force,
)
from survey_app.targets import bp
from survey_app.targets.forms import INDICATOR_HEADINGS, ScopeForm, target_form, target_form_data
from survey_app.web.access import permission_required
from survey_app.web.i18n import current_language

Page = Response | str | tuple[str, int]


def _status() -> int:
    """Return the status of a form page: 400 when a submitted form is shown again."""
    return 400 if request.method == "POST" else 200


def _show_refusal(form: FlaskForm, error: TargetError) -> None:
    """Show a service's refusal beside the field it is about."""
    field = form[error.field]
    field.errors = [*field.errors, error.message]


def _report_saving(changes: Mapping[str, object], saved: str, unchanged: str) -> None:
    """Commit a change and say so, or say that nothing changed (nothing was logged)."""
    if changes:
        db.session.commit()
        flash(saved, "success")
    else:
        flash(unchanged, "info")


# Targets ---------------------------------------------------------------------------------


@bp.get("", endpoint="index")
@permission_required("targets.manage")
def index() -> str:
    """Show each year's targets by scope and indicator, and which year judges this year."""
    years = list_target_years(db.session)
    today = local_date(utcnow())
    return render_template(
        "targets/index.html",
        years=years,
        thresholds={y.year: thresholds_of(y) for y in years},
        scopes=list_scopes(db.session),
        indicators=INDICATOR_HEADINGS,
        year_in_force=year_in_force(db.session, today),
        this_year=today.year,
    )


@bp.route("/new", methods=["GET", "POST"])
@permission_required("targets.manage")
def new() -> Page:
    """Add the targets of a year, starting from those of the latest year."""
    scopes = list_scopes(db.session)
    latest = next(reversed(list_target_years(db.session)), None)
    start = {} if latest is None else target_form_data(
        latest.min_sample, thresholds_of(latest), latest.year + 1)
    form = target_form(scopes, new_year=True)(data=start)
    if form.validate_on_submit():
        try:
            created = create_target_year(db.session, form.year.data, form.min_sample.data,
                                         form.thresholds())
        except TargetError as error:
            _show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Đã thêm chỉ tiêu năm %(year)d.", year=created.year), "success")
            return redirect(url_for("targets.index"))
    return render_template("targets/new.html", form=form, indicators=INDICATOR_HEADINGS,
                           latest_year=None if latest is None else latest.year), _status()


@bp.route("/<int:year>", methods=["GET", "POST"])
@permission_required("targets.manage")
def edit(year: int) -> Page:
    """Change the thresholds and the minimum sample of a year."""
    target_year = db.session.get(TargetYear, year)
    if target_year is None:
        abort(404)
    scopes = list_scopes(db.session)
    form = target_form(scopes)(
        data=target_form_data(target_year.min_sample, thresholds_of(target_year)))
    if form.validate_on_submit():
        changes = update_target_year(db.session, target_year, form.min_sample.data,
                                     form.thresholds())
        _report_saving(changes, _("Đã lưu chỉ tiêu năm %(year)d.", year=year),
                       _("Chỉ tiêu năm %(year)d không có gì thay đổi.", year=year))
        return redirect(url_for("targets.index"))
    return render_template("targets/edit.html", target_year=target_year, form=form,
                           indicators=INDICATOR_HEADINGS), _status()


# Scopes ----------------------------------------------------------------------------------


@bp.get("/scopes")
@permission_required("targets.manage")
def scopes() -> str:
    """List the scopes that targets are set for, with their sectors."""
    return render_template("targets/scopes.html", scopes=list_scopes(db.session))


@bp.route("/scopes/new", methods=["GET", "POST"])
@permission_required("targets.manage")
def scope_new() -> Page:
    """Add a scope: a named set of sectors that targets can then be set for."""
    sectors = list_sectors(db.session)
    form = ScopeForm(sectors=sectors)
    if form.validate_on_submit():
        try:
            scope = create_scope(db.session, form.code.data, form.label_vi.data,
                                 form.label_en.data, form.chosen_sectors(sectors) or [])
        except TargetError as error:
            _show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Đã thêm phạm vi «%(label)s». Bây giờ có thể đặt chỉ tiêu cho phạm vi này "
                    "trong trang chỉ tiêu của từng năm.", label=scope.label(current_language())),
                  "success")
            return redirect(url_for("targets.scopes"))
    return render_template("targets/scope_new.html", form=form), _status()


@bp.route("/scopes/<int:scope_id>", methods=["GET", "POST"])
@permission_required("targets.manage")
def scope_edit(scope_id: int) -> Page:
    """Change a scope's labels and sectors (the all-sector scope: labels only)."""
    scope = db.session.get(TargetScope, scope_id)
    if scope is None:
        abort(404)
    sectors = list_sectors(db.session)
    form = ScopeForm(sectors=sectors, scope=scope)
    if form.validate_on_submit():
        changes = update_scope(db.session, scope, form.label_vi.data, form.label_en.data,
                               form.chosen_sectors(sectors))
        label = scope.label(current_language())
        _report_saving(changes, _("Đã lưu phạm vi «%(label)s».", label=label),
                       _("Phạm vi «%(label)s» không có gì thay đổi.", label=label))
        return redirect(url_for("targets.scopes"))
    return render_template("targets/scope_edit.html", scope=scope, form=form), _status()

