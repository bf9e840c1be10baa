"""The dashboard, the printable quarterly report and the note on the method.

Each view reads its filters with a form, resolves them within the user's scope, asks the
services for the figures and hands display values to the template.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey_app.dashboard import bp
from survey_app.dashboard.display import dashboard_page, report_page
from survey_app.dashboard.forms import (
    DashboardFilterForm,
    QuarterReportForm,
    build_dashboard_form,
    build_report_form,
)
from survey_app.extensions import db, reads_from_replica
from survey_app.models import utcnow
from survey_app.services.dashboard import dashboard_figures, local_today
from survey_app.services.filters import FilterError, ResolvedFilter, resolve
from survey_app.web.access import permission_required
from survey_app.web.i18n import current_language, local_datetime


def _link(endpoint: str, **changes: str | None) -> str:
    """Return this page's address with some query parameters changed (None drops one)."""
    args: dict[str, Any] = request.args.to_dict()
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value
    return url_for(endpoint, **args)


def _downloads(**args: Any) -> dict[str, str]:
    """Return the addresses of this page's figures as XLSX and CSV, with the page's filters.

    The exports read the same parameters with the same forms, so the file holds what the
    screen shows; only the order of the tables is the page's own.
    """
    args = {k: v for k, v in (args or request.args).items() if k != "sort"}
    return {fmt: url_for("exports.tallies", fmt=fmt, **args) for fmt in ("xlsx", "csv")}


def _refuse(form: DashboardFilterForm | QuarterReportForm, error: FilterError) -> int:
    """Put a filter the resolver refused beside its field; return the HTTP status."""
    messages = {
        "forbidden_agency": (
            form.agency,
            _("Đơn vị có mã %(code)s không thuộc phạm vi được xem của tài khoản này.",
              code=form.agency.data),
        ),
        "unknown_agency": (
            form.agency,
            _("Không có đơn vị nào có mã %(code)s.", code=form.agency.data),
        ),
        "unknown_sector": (
            form.sector,
            _("Không có lĩnh vực nào có mã %(code)s.", code=form.sector.data),
        ),
    }
    if isinstance(form, DashboardFilterForm):
        messages["forbidden_counter"] = (
            form.counter,
            _("Quầy đã chọn không thuộc phạm vi được xem của tài khoản này."),
        )
        messages["unknown_counter"] = (
            form.counter,
            _("Quầy đã chọn không thuộc đơn vị đã chọn. Vui lòng chọn lại quầy."),
        )
    field, message = messages.get(
        error.reason, (form.agency, _("Không xem được số liệu theo lựa chọn này."))
    )
    field.errors = [*field.errors, message]
    # Asking for what is outside one's scope is refused; anything else is a bad request.
    return 403 if error.reason.startswith("forbidden") else 400


@bp.get("/")
@permission_required("figures.view")
@reads_from_replica
def index() -> tuple[str, int]:
    """Show the figures of a period, agency, counter and sector against the targets."""
    language = current_language()
    form = build_dashboard_form(db.session, current_user, request.args, language, local_today())
    status, page = 400, None
    if form.validate() and form.chosen_period is not None:
        try:
            resolved = resolve(
                db.session,
                current_user,
                form.chosen_period,
                agency_code=form.agency.data or None,
                counter_id=form.counter_id,
                sector_code=form.sector.data or None,
            )
        except FilterError as error:
            status = _refuse(form, error)
        else:
            status = 200
            page = dashboard_page(
                dashboard_figures(db.session, resolved),
                resolved,
                language=language,
                sort=form.sort.data,
                link=lambda **changes: _link("dashboard.index", **changes),
            )
    report_url = url_for(
        "dashboard.report", agency=form.agency.data or None, sector=form.sector.data or None
    )
    html = render_template(
        "dashboard/index.html", form=form, page=page, report_url=report_url,
        downloads=_downloads(),
    )
    return html, status


@bp.get("/report")
@permission_required("figures.view")
@reads_from_replica
def report() -> tuple[str, int]:
    """Show one quarter's figures on a page that prints on A4 (the last whole quarter)."""
    language = current_language()
    form = build_report_form(db.session, current_user, request.args, language, local_today())
    status, page = 400, None
    if form.validate() and form.chosen_period is not None:
        resolved: ResolvedFilter | None = None
        try:
            resolved = resolve(
                db.session,
                current_user,
                form.chosen_period,
                agency_code=form.agency.data or None,
                sector_code=form.sector.data or None,
            )
        except FilterError as error:
            status = _refuse(form, error)
        if resolved is not None:
            status = 200
            page = report_page(
                dashboard_figures(db.session, resolved, with_counters=False, with_trend=False),
                resolved,
                language=language,
                quarter=int(form.quarter.data or 0),
            )
    generated_at = local_datetime(utcnow())
    html = render_template(
        "dashboard/report.html", form=form, page=page, generated_at=generated_at,
        # The quarter shown, named even when the page opened on its default.
        downloads=_downloads(year=form.year.data, quarter=form.quarter.data,
                             agency=form.agency.data or None, sector=form.sector.data or None),
    )
    return html, status


@bp.get("/method")
@permission_required("figures.view")
@reads_from_replica
def method() -> str:
    """Explain in a page how every figure of the dashboard is computed."""
    return render_template("dashboard/method.html")
