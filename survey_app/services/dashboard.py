"""Reads behind the dashboard: the choices of its filters and the figures of a filter.

Counting and scoring live in tallies.py, reports.py and sipas.py; this module only asks
them for the scopes the dashboard shows and names the agencies and counters they return.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from survey_app.models import Agency, Counter
from survey_app.services.filters import ResolvedFilter
from survey_app.services.periods import Period, deployment_zone, month_start, next_month
from survey_app.services.reports import (
    AgencyFigures,
    Report,
    ScopeFigures,
    agency_figures,
    build_report,
    grouped_figures,
    judged_empty,
)

TREND_MONTHS = 12


def local_today() -> date:
    """Return today's date where the offices are."""
    return datetime.now(deployment_zone()).date()


def last_complete_quarter(today: date) -> tuple[int, int]:
    """Return (year, quarter) of the last quarter that has ended before today."""
    current = (today.month - 1) // 3 + 1
    return (today.year, current - 1) if current > 1 else (today.year - 1, 4)


# Choices of the filters ------------------------------------------------------------------




def counters_of(session: Session, agency_id: int) -> list[Counter]:
    return list(
        session.scalars(
            select(Counter).where(Counter.agency_id == agency_id).order_by(Counter.name)
        )
    )




# Figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    month: date
    figures: ScopeFigures


@dataclass(frozen=True)
class DashboardFigures:
    """Everything the dashboard and the quarterly report show for one filter.

    Agencies, counters and months are judged against the targets that fit the filter's
    sector (all sectors without one); each month by the targets of its own year.
    """

    report: Report
    agencies: list[AgencyFigures]
    counters: list[tuple[Counter, ScopeFigures]]
    trend_period: Period | None
    months: list[MonthFigures]


def trend_period(period: Period, months: int = TREND_MONTHS) -> Period:
    """Return the whole months up to the period's end: at least `months`, or the period's."""
    start = month_start(period.end)
    for _ in range(months - 1):
        start = month_start(start - timedelta(days=1))
    return Period(min(start, month_start(period.start)), period.end)


def _months(period: Period) -> list[date]:
    months, month = [], month_start(period.start)
    while month <= period.end:
        months.append(month)
        month = next_month(month)
    return months


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def dashboard_figures(
    session: Session,
    resolved: ResolvedFilter,
    *,
    with_counters: bool = True,
    with_trend: bool = True,
) -> DashboardFigures:
    """Count and score the filter: its scopes and sectors, agencies, counters and months."""
    tally = resolved.tally
    report = build_report(session, tally)
    book = report.book

    if resolved.counter is not None:
        # One counter: its agency alone; listing every other agency would only add noise.
        agency_query = select(Agency).where(Agency.id == resolved.counter.agency_id)
    elif tally.agency_ids is not None:
        agency_query = select(Agency).where(Agency.id.in_(sorted(tally.agency_ids)))
    else:
        agency_query = select(Agency)
    agencies = session.scalars(agency_query.order_by(Agency.level.desc(), Agency.name)).all()
    agency_rows = agency_figures(session, tally, agencies, book, report.cells)

    counter_rows: list[tuple[Counter, ScopeFigures]] = []
    if with_counters:
        by_counter = grouped_figures(session, tally, "counter", book)
        if by_counter:
            counters = session.scalars(
                select(Counter)
                .where(Counter.id.in_(sorted(by_counter)))
                .options(joinedload(Counter.agency))
            ).all()
            counter_rows = [(c, by_counter[c.id]) for c in counters]
            counter_rows.sort(key=lambda row: (row[0].agency.name, row[0].name))

    months: list[MonthFigures] = []
    span = None
    if with_trend:
        span = trend_period(tally.period)
        within = replace(tally, period=span)
        by_month = {
            _as_date(key): figures
            for key, figures in grouped_figures(session, within, "month", book).items()
        }
        months = [
            MonthFigures(
                month,
                by_month.get(month)
                or judged_empty(month.isoformat(), within, book, month.year),
            )
            for month in _months(span)
        ]
    return DashboardFigures(report, agency_rows, counter_rows, span, months)
