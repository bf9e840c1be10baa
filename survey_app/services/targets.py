"""Reads and writes of the targets and their scopes. Writes only flush and are audit-logged;
the view commits once.

A target is a row (year, indicator, scope, threshold); a year also holds the minimum sample
its figures need; a scope is a named set of sectors (or every sector).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from survey_app.models import Sector, Target, TargetScope, TargetYear
from survey_app.services import audit
from survey_app.services.reports import load_target_book
from survey_app.sipas import Indicator

DUPLICATE_YEAR = _l("Năm này đã có chỉ tiêu. Vui lòng sửa chỉ tiêu của năm đó thay vì thêm mới.")
DUPLICATE_SCOPE = _l("Đã có phạm vi chỉ tiêu với mã này.")

# {(indicator, scope code): threshold or None (no target)}
Thresholds = Mapping[tuple[Indicator, str], float | None]


class TargetError(ValueError):
    """A change that cannot be made; `field` names the form field it is about."""

    def __init__(self, field: str, message: str | LazyString) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


def list_target_years(session: Session) -> list[TargetYear]:
    return list(session.scalars(
        select(TargetYear).options(selectinload(TargetYear.targets)).order_by(TargetYear.year)
    ))


def list_scopes(session: Session) -> list[TargetScope]:
    return list(session.scalars(
        select(TargetScope).options(selectinload(TargetScope.sectors))
        .order_by(TargetScope.position, TargetScope.code)
    ))




def year_in_force(session: Session, day: date) -> int | None:
    """Return the year whose targets judge a period ending on `day`."""
    return load_target_book(session).year_for(day.year)


def thresholds_of(target_year: TargetYear) -> dict[tuple[Indicator, str], float]:
    """Return a year's thresholds by (indicator, scope code)."""
    return {(Indicator(t.indicator), t.scope.code): t.threshold for t in target_year.targets}


def _scopes_by_code(session: Session) -> dict[str, TargetScope]:
    return {s.code: s for s in session.scalars(select(TargetScope))}


def _audit_values(thresholds: Thresholds) -> dict[str, float | None]:
    return {f"{indicator.value}:{code}": value for (indicator, code), value in
            sorted(thresholds.items())}


def create_target_year(session: Session, year: int, min_sample: int,
                       thresholds: Thresholds) -> TargetYear:
    """Add the targets of a year and log them."""
    if session.get(TargetYear, year) is not None:
        raise TargetError("year", DUPLICATE_YEAR)
    scopes = _scopes_by_code(session)
    target_year = TargetYear(year=year, min_sample=min_sample)
    for (indicator, code), threshold in thresholds.items():
        if threshold is not None:
            target_year.targets.append(
                Target(indicator=indicator.value, scope=scopes[code], threshold=float(threshold))
            )
    try:
        # A savepoint, so that losing a race to a concurrent creation leaves the
        # transaction usable (PostgreSQL included).
        with session.begin_nested():
            session.add(target_year)
    except IntegrityError as error:
        raise TargetError("year", DUPLICATE_YEAR) from error
    # TargetYear is keyed by its year (no id), so the year goes in the details.
    audit.record(session, "target.created", year=year, min_sample=min_sample,
                 values=_audit_values({k: v for k, v in thresholds.items() if v is not None}))
    return target_year


def update_target_year(session: Session, target_year: TargetYear, min_sample: int,
                       thresholds: Thresholds) -> dict[str, list[float | int | None]]:
    """Change a year's targets; log and return what changed as {what: [old, new]}.

    A threshold of None removes that target (the figure is then judged by a wider scope's).
    """
    changes: dict[str, list[float | int | None]] = {}
    if target_year.min_sample != min_sample:
        changes["min_sample"] = [target_year.min_sample, min_sample]
        target_year.min_sample = min_sample
    scopes = _scopes_by_code(session)
    existing = {(Indicator(t.indicator), t.scope.code): t for t in target_year.targets}
    for key, threshold in sorted(thresholds.items()):
        indicator, code = key
        current = existing.get(key)
        old = None if current is None else current.threshold
        new = None if threshold is None else float(threshold)
        if old == new:
            continue
        changes[f"{indicator.value}:{code}"] = [old, new]
        if current is None:
            target_year.targets.append(
                Target(indicator=indicator.value, scope=scopes[code], threshold=new)
            )
        elif new is None:
            target_year.targets.remove(current)
        else:
            current.threshold = new
    if changes:
        session.flush()
        audit.record(session, "target.updated", year=target_year.year, changes=changes)
    return changes


def create_scope(session: Session, code: str, label_vi: str, label_en: str,
                 sectors: Iterable[Sector]) -> TargetScope:
    """Add a named set of sectors that targets can be set for, and log it."""
    if session.scalar(select(TargetScope.id).where(TargetScope.code == code)) is not None:
        raise TargetError("code", DUPLICATE_SCOPE)
    position = max(session.scalars(select(TargetScope.position)), default=0) + 1
    scope = TargetScope(code=code, label_vi=label_vi, label_en=label_en,
                        covers_all_sectors=False, position=position, sectors=list(sectors))
    try:
        with session.begin_nested():
            session.add(scope)
    except IntegrityError as error:
        raise TargetError("code", DUPLICATE_SCOPE) from error
    audit.record(session, "target_scope.created", target=scope, code=code,
                 sectors=sorted(s.code for s in scope.sectors))
    return scope


def update_scope(session: Session, scope: TargetScope, label_vi: str, label_en: str,
                 sectors: Iterable[Sector] | None) -> dict[str, list[object]]:
    """Change a scope's labels and sectors (not those of the all-sector scope); log it."""
    changes: dict[str, list[object]] = {}
    for name, value in (("label_vi", label_vi), ("label_en", label_en)):
        if getattr(scope, name) != value:
            changes[name] = [getattr(scope, name), value]
            setattr(scope, name, value)
    if sectors is not None and not scope.covers_all_sectors:
        old = sorted(s.code for s in scope.sectors)
        chosen = sorted(sectors, key=lambda s: (s.position, s.code))
        new = sorted(s.code for s in chosen)
        if old != new:
            changes["sectors"] = [old, new]
            scope.sectors = chosen
    if changes:
        session.flush()
        audit.record(session, "target_scope.updated", target=scope, code=scope.code,
                     changes=changes)
    return changes
