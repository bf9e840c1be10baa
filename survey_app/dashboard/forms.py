"""The filters of the dashboard and of the quarterly report, filled for the signed-in user."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from survey_app.models import User
from survey_app.services.dashboard import counters_of, last_complete_quarter
from survey_app.services.directory import agencies_in_scope, list_sectors
from survey_app.web.filter_forms import (
    CUSTOM,
    DEFAULT_PRESET,
    PERIOD_LABELS,
    QUARTER_NAMES,
    DashboardFilterForm,
    QuarterReportForm,
    ScopeForm,
    parse_day,
)

__all__ = [
    "CUSTOM", "DEFAULT_PRESET", "PERIOD_LABELS", "QUARTER_NAMES", "DashboardFilterForm",
    "QuarterReportForm", "ScopeForm", "build_dashboard_form", "build_report_form", "parse_day",
]


def build_dashboard_form(
    session: Session, user: User, args: Any, language: str, today: date
) -> DashboardFilterForm:
    """Return the filter form read from the query string, its lists filled for the user."""
    form = DashboardFilterForm(formdata=args, today=today)
    agencies = agencies_in_scope(session, user)
    form.fill_choices(agencies, list_sectors(session), language)
    chosen = next((a for a in agencies if a.code == form.agency.data), None)
    counters = counters_of(session, chosen.id) if chosen is not None else []
    form.counter.choices = [("", _("Tất cả quầy"))] + [(str(c.id), c.name) for c in counters]
    form.counter_needs_agency = chosen is None
    return form


def build_report_form(
    session: Session, user: User, args: Any, language: str, today: date
) -> QuarterReportForm:
    """Return the quarter form read from the query string; the last whole quarter by default."""
    year, quarter = last_complete_quarter(today)
    form = QuarterReportForm(formdata=args, year=str(year), quarter=str(quarter))
    form.fill_choices(agencies_in_scope(session, user), list_sectors(session), language)
    return form

