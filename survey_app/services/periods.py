"""Periods of local calendar dates, and how a period is read from the rollups.

A period is a span of dates in the deployment's time zone (TIMEZONE); the rollup tables
hold local days, months and years, so a period splits into the parts each table answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


@dataclass(frozen=True)
class Period:
    """Local calendar dates, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")


def utc_bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC moments where a period of local dates starts and ends (excluded)."""
    start = datetime.combine(period.start, time.min, zone).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end


def deployment_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_date(moment: datetime, zone: ZoneInfo | None = None) -> date:
    """Return the local calendar date of a UTC moment."""
    return moment.astimezone(zone or deployment_zone()).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def split_by_month(period: Period) -> tuple[list[Period], Period | None]:
    """Split a period into partial-month edges (read by day) and whole months."""
    first_whole = period.start if period.start.day == 1 else next_month(period.start)
    after_last_whole = month_start(period.end + timedelta(days=1))
    if first_whole >= after_last_whole:
        return [period], None
    edges = []
    if period.start < first_whole:
        edges.append(Period(period.start, first_whole - timedelta(days=1)))
    if after_last_whole <= period.end:
        edges.append(Period(after_last_whole, period.end))
    return edges, Period(first_whole, after_last_whole - timedelta(days=1))


def year_start(day: date) -> date:
    return day.replace(month=1, day=1)


def split_by_level(
    period: Period, whole_years: bool = True
) -> tuple[list[Period], list[Period], Period | None]:
    """Split a period into the parts read by day, by month and by whole year."""
    years: Period | None = None
    rest = [period]
    if whole_years:
        first = period.start if period.start == year_start(period.start) else date(
            period.start.year + 1, 1, 1
        )
        after_last = date(period.end.year + 1, 1, 1) if (
            period.end.month, period.end.day
        ) == (12, 31) else year_start(period.end)
        if first < after_last:
            years = Period(first, after_last - timedelta(days=1))
            rest = []
            if period.start < first:
                rest.append(Period(period.start, first - timedelta(days=1)))
            if after_last <= period.end:
                rest.append(Period(after_last, period.end))
    days: list[Period] = []
    months: list[Period] = []
    for part in rest:
        edges, whole = split_by_month(part)
        days += edges
        months += [whole] if whole is not None else []
    return days, months, years

