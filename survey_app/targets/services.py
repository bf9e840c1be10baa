"""Reads and writes of the yearly targets. Writes only flush and are audit-logged; the view
commits once."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey_app import audit
from survey_app.models import TargetYear
from survey_app.reports import targets_for
from survey_app.tallies import Period

THRESHOLD_FIELDS = (
    "sipas_all",
    "sipas_land",
    "sipas_construction",
    "sipas_investment",
    "sipas_land_construction_investment",
)
VALUE_FIELDS = (*THRESHOLD_FIELDS, "min_sample")
DUPLICATE_YEAR = _l("Năm này đã có chỉ tiêu. Hãy sửa chỉ tiêu của năm đó thay vì thêm mới.")


class TargetError(ValueError):
    """A change that cannot be made; `field` names the form field it is about."""

    def __init__(self, field: str, message: str | LazyString) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


def list_target_years(session: Session) -> list[TargetYear]:
    return list(session.scalars(select(TargetYear).order_by(TargetYear.year)))


def year_in_force(session: Session, day: date) -> int | None:
    """Return the year whose targets judge a period ending on `day`."""
    target = targets_for(session, Period(day, day))
    return target.year if target else None


def _values(values: dict[str, Any]) -> dict[str, Any]:
    """Return the stored form of the values: thresholds as floats, the sample as an int."""
    stored: dict[str, Any] = {name: float(values[name]) for name in THRESHOLD_FIELDS}
    stored["min_sample"] = int(values["min_sample"])
    return stored


def create_target_year(session: Session, year: int, values: dict[str, Any]) -> TargetYear:
    """Add the targets of a year and log them."""
    if session.get(TargetYear, year) is not None:
        raise TargetError("year", DUPLICATE_YEAR)
    stored = _values(values)
    target = TargetYear(year=year, **stored)
    try:
        # A savepoint, so that losing a race to a concurrent creation leaves the
        # transaction usable (PostgreSQL included).
        with session.begin_nested():
            session.add(target)
    except IntegrityError as error:
        raise TargetError("year", DUPLICATE_YEAR) from error
    # TargetYear is keyed by its year (no id), so the year goes in the details.
    audit.record(session, "target.created", year=year, values=stored)
    return target


def update_target_year(session: Session, target: TargetYear,
                       values: dict[str, Any]) -> dict[str, list[Any]]:
    """Change a year's targets; log and return what changed as {field: [old, new]}."""
    changes = {}
    for name, value in _values(values).items():
        if getattr(target, name) != value:
            changes[name] = [getattr(target, name), value]
            setattr(target, name, value)
    if changes:
        session.flush()
        audit.record(session, "target.updated", year=target.year, changes=changes)
    return changes
