"""Reads and writes behind the administration pages: accounts, agencies, counters, sectors,
and the audit log. Writes only flush and are audit-logged; the view commits once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from survey_app.models import (
    AGENCY_LEVELS,
    Agency,
    AuditEvent,
    Counter,
    Sector,
    User,
)
from survey_app.services import audit
from survey_app.services.access import agency_with_descendants
from survey_app.services.accounts import AccountError, create_user, update_user

AUDIT_PAGE_SIZE = 50


class AdminError(ValueError):
    """A change that cannot be made; `field` names the form field it is about."""

    def __init__(self, field: str, message: str | LazyString) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@contextmanager
def _unique(session: Session, error: Exception) -> Iterator[None]:
    """Turn a unique-constraint violation (a concurrent duplicate) into `error`.

    The savepoint keeps the rest of the transaction usable, PostgreSQL included.
    """
    try:
        with session.begin_nested():
            yield
    except IntegrityError as exc:
        raise error from exc


def _apply(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the attributes that differ; return them as {field: [old, new]} for the log."""
    changes = {}
    for field, value in values.items():
        if getattr(obj, field) != value:
            changes[field] = [getattr(obj, field), value]
            setattr(obj, field, value)
    return changes


# Accounts --------------------------------------------------------------------------------


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).options(joinedload(User.agency)).order_by(User.email)))


def create_account(session: Session, *, email: str, password: str, role: str,
                   agency: Agency | None, name: str) -> User:
    """Create an account whose owner chooses a new password at the first sign-in.

    A concurrent duplicate email is an AccountError like any other.
    """
    with _unique(session, AccountError("an account with this email already exists", "email_taken")):
        return create_user(session, email, password, role, agency, name=name,
                           must_change_password=True)


def update_account(session: Session, user: User, *, actor: User, role: str,
                   agency: Agency | None, name: str, is_enabled: bool) -> None:
    """Change an account; an admin may not lock themself out of administration."""
    if user.id == actor.id and not is_enabled:
        raise AdminError("is_enabled", _l("Bạn không thể tự khóa tài khoản của mình."))
    if user.id == actor.id and role != "admin":
        raise AdminError("role", _l("Bạn không thể tự bỏ quyền quản trị của mình."))
    update_user(session, user, role=role, agency=agency, name=name, is_enabled=is_enabled,
                actor=actor)


# Agencies and counters -------------------------------------------------------------------

DUPLICATE_AGENCY_CODE = _l("Mã đơn vị này đã được dùng cho một đơn vị khác.")
DUPLICATE_COUNTER_NAME = _l("Đơn vị này đã có một quầy cùng tên.")




def _check_agency(session: Session, agency: Agency | None, code: str, level: str,
                  parent: Agency | None) -> None:
    if level not in AGENCY_LEVELS:
        raise AdminError("level", _l("Vui lòng chọn cấp của đơn vị."))
    same_code = session.scalar(select(Agency.id).where(Agency.code == code))
    if same_code is not None and (agency is None or same_code != agency.id):
        raise AdminError("code", DUPLICATE_AGENCY_CODE)
    if (agency is not None and parent is not None
            and parent.id in agency_with_descendants(session, agency.id)):
        raise AdminError(
            "parent",
            _l("Không thể chọn chính đơn vị này hoặc một đơn vị cấp dưới của nó "
               "làm đơn vị cấp trên."),
        )


def _check_hotline(hotline: str | None, hotline_note: str | None) -> None:
    if hotline_note and not hotline:
        raise AdminError("hotline", _l("Vui lòng nhập số đường dây nóng cho ghi chú này."))


def create_agency(session: Session, *, code: str, name: str, level: str,
                  parent: Agency | None, hotline: str | None = None,
                  hotline_note: str | None = None) -> Agency:
    """Add an agency and log it."""
    _check_agency(session, None, code, level, parent)
    _check_hotline(hotline, hotline_note)
    agency = Agency(code=code, name=name, level=level, parent=parent, hotline=hotline,
                    hotline_note=hotline_note)
    with _unique(session, AdminError("code", DUPLICATE_AGENCY_CODE)):
        session.add(agency)
        session.flush()
    hotline_details: dict[str, Any] = (
        {"hotline": hotline, "hotline_note": hotline_note} if hotline else {})
    audit.record(session, "agency.created", target=agency, code=code, name=name, level=level,
                 parent=parent.code if parent else None, **hotline_details)
    return agency


def update_agency(session: Session, agency: Agency, *, code: str, name: str, level: str,
                  parent: Agency | None, hotline: str | None = None,
                  hotline_note: str | None = None) -> None:
    """Change an agency, refusing a parent that would make a cycle, and log what changed."""
    _check_agency(session, agency, code, level, parent)
    _check_hotline(hotline, hotline_note)
    with _unique(session, AdminError("code", DUPLICATE_AGENCY_CODE)):
        changes = _apply(agency, {"code": code, "name": name, "level": level,
                                  "parent_id": parent.id if parent else None,
                                  "hotline": hotline, "hotline_note": hotline_note})
        session.flush()
    if changes:
        audit.record(session, "agency.updated", target=agency, changes=changes)


def _counter_named(session: Session, agency_id: int, name: str) -> int | None:
    return session.scalar(
        select(Counter.id).where(Counter.agency_id == agency_id, Counter.name == name)
    )


def add_counter(session: Session, agency: Agency, name: str) -> Counter:
    """Add a counter to an agency and log it; names are unique within an agency."""
    if _counter_named(session, agency.id, name) is not None:
        raise AdminError("name", DUPLICATE_COUNTER_NAME)
    counter = Counter(agency_id=agency.id, name=name)
    with _unique(session, AdminError("name", DUPLICATE_COUNTER_NAME)):
        session.add(counter)
        session.flush()
    audit.record(session, "counter.created", target=counter, agency=agency.code, name=name)
    return counter


def rename_counter(session: Session, counter: Counter, name: str) -> None:
    """Rename a counter and log it; its QR codes and answers stay with it."""
    same_name = _counter_named(session, counter.agency_id, name)
    if same_name is not None and same_name != counter.id:
        raise AdminError("name", DUPLICATE_COUNTER_NAME)
    with _unique(session, AdminError("name", DUPLICATE_COUNTER_NAME)):
        changes = _apply(counter, {"name": name})
        session.flush()
    if changes:
        audit.record(session, "counter.updated", target=counter, changes=changes)


# Sectors ---------------------------------------------------------------------------------




def update_sector(session: Session, sector: Sector, *, label_vi: str, label_en: str) -> None:
    """Change a sector's labels (never its code), and log what changed."""
    changes = _apply(sector, {"label_vi": label_vi, "label_en": label_en})
    if changes:
        session.flush()
        audit.record(session, "sector.updated", target=sector, code=sector.code, changes=changes)


# Audit log -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    actor: str | None = None  # part of the actor's email
    date_from: date | None = None  # local dates, both included
    date_to: date | None = None


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def audit_actions(session: Session) -> list[str]:
    """Return every action that appears in the log, in alphabetical order."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def audit_events(session: Session, filters: AuditFilters, zone: ZoneInfo,
                 page: int = 1) -> AuditPage:
    """Return one page of the log, newest first, narrowed by the filters."""
    query = select(AuditEvent)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        query = query.where(
            func.lower(AuditEvent.actor_email).contains(filters.actor.lower(), autoescape=True)
        )
    if filters.date_from:
        query = query.where(AuditEvent.at >= _local_midnight(filters.date_from, zone))
    if filters.date_to:
        next_day = filters.date_to + timedelta(days=1)
        query = query.where(AuditEvent.at < _local_midnight(next_day, zone))
    page = max(page, 1)
    rows = list(session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * AUDIT_PAGE_SIZE)
        .limit(AUDIT_PAGE_SIZE + 1)  # one more tells whether a next page exists
    ))
    return AuditPage(rows[:AUDIT_PAGE_SIZE], page, len(rows) > AUDIT_PAGE_SIZE)
