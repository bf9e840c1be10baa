"""The yearly targets: list, add and change them (admins only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from survey_app.auth.access import roles_required
from survey_app.extensions import db
from survey_app.models import TargetYear, utcnow
from survey_app.tallies import local_date
from survey_app.targets import bp
from survey_app.targets.forms import TargetCreateForm, TargetForm
from survey_app.targets.services import (
    TargetError,
    create_target_year,
    list_target_years,
    update_target_year,
    year_in_force,
)

Page = Response | str | tuple[str, int]


def _status() -> int:
    """Return the status of a form page: 400 when a submitted form is shown again."""
    return 400 if request.method == "POST" else 200


@bp.get("", endpoint="index")
@roles_required("admin")
def index() -> str:
    """List each year's targets and say which year judges a period."""
    years = list_target_years(db.session)
    today = local_date(utcnow())
    return render_template(
        "targets/index.html",
        years=years,
        year_in_force=year_in_force(db.session, today),
        this_year=today.year,
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new() -> Page:
    """Add the targets of a year, starting from those of the latest year."""
    latest = next(reversed(list_target_years(db.session)), None)
    form = TargetCreateForm(obj=latest)
    if request.method == "GET" and latest is not None:
        form.year.data = latest.year + 1
    if form.validate_on_submit():
        try:
            target = create_target_year(db.session, form.year.data, form.values())
        except TargetError as error:
            field = getattr(form, error.field)
            field.errors = [*field.errors, error.message]
        else:
            db.session.commit()
            flash(_("Đã thêm chỉ tiêu năm %(year)d.", year=target.year), "success")
            return redirect(url_for("targets.index"))
    return render_template("targets/new.html", form=form), _status()


@bp.route("/<int:year>", methods=["GET", "POST"])
@roles_required("admin")
def edit(year: int) -> Page:
    """Change the thresholds and the minimum sample of a year."""
    target = db.session.get(TargetYear, year)
    if target is None:
        abort(404)
    form = TargetForm(obj=target)
    if form.validate_on_submit():
        changes = update_target_year(db.session, target, form.values())
        if changes:
            db.session.commit()
            flash(_("Đã lưu chỉ tiêu năm %(year)d.", year=target.year), "success")
        else:
            flash(_("Chỉ tiêu năm %(year)d không có gì thay đổi.", year=target.year), "info")
        return redirect(url_for("targets.index"))
    return render_template("targets/edit.html", target=target, form=form), _status()
