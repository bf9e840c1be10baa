"""Writes and reads behind survey codes. Writes only flush; the caller commits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from survey_app.models import Agency, Counter, Sector, SurveyCode, User, utcnow
from survey_app.services import audit
from survey_app.services.codes import create_survey_code
from survey_app.services.recording import recent_codes
from survey_app.text import clean_survey_code


class CodeError(ValueError):
    """A request about codes that cannot be carried out; `reason` is a stable key."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def find_or_create_counter(
    session: Session, agency: Agency, name: str, actor: User | None = None
) -> Counter:
    """Return the agency's counter of that name, creating it when there is none."""
    counter = session.scalar(
        select(Counter).where(Counter.agency_id == agency.id, Counter.name == name)
    )
    if counter is None:
        counter = Counter(agency=agency, name=name)
        session.add(counter)
        session.flush()
        audit.record(
            session, "counter.created", actor=actor, target=counter, agency=agency.code, name=name
        )
    return counter


def issue_code(
    session: Session, agency: Agency, counter: Counter, sector: Sector, actor: User | None = None
) -> SurveyCode:
    """Issue a new active code for a counter and sector, and log it."""
    if counter.agency_id != agency.id:
        raise CodeError("the counter belongs to another agency", "counter_agency")
    code = create_survey_code(session, agency, counter, sector)
    audit.record(
        session,
        "code.created",
        actor=actor,
        target=code,
        code=code.code,
        agency=agency.code,
        counter=counter.name,
        sector=sector.code,
    )
    return code


def revoke_code(
    session: Session,
    code: SurveyCode,
    actor: User | None = None,
    replaced_by: SurveyCode | None = None,
) -> None:
    """Withdraw a code: its address answers 410 from now on. Its responses stay."""
    if code.revoked_at is not None:
        raise CodeError("the code is already revoked", "already_revoked")
    code.revoked_at = utcnow()
    session.flush()
    recent_codes().forget(code.code)
    details = {"code": code.code}
    if replaced_by is not None:
        details["replaced_by"] = replaced_by.code
    audit.record(session, "code.revoked", actor=actor, target=code, **details)


def replace_code(session: Session, code: SurveyCode, actor: User | None = None) -> SurveyCode:
    """Revoke a misused code and issue a new one for the same counter and sector, at once."""
    if code.revoked_at is not None:
        raise CodeError("the code is already revoked", "already_revoked")
    new = issue_code(session, code.agency, code.counter, code.sector, actor=actor)
    revoke_code(session, code, actor=actor, replaced_by=new)
    return new


def codes_by_text(session: Session, texts: Iterable[str]) -> list[SurveyCode]:
    """Return the counter codes named, in the order given, with their labels loaded."""
    wanted = [code for code in map(clean_survey_code, texts) if code]
    rows = session.scalars(
        select(SurveyCode)
        .where(SurveyCode.code.in_(wanted), SurveyCode.kind == "counter")
        .options(
            joinedload(SurveyCode.agency),
            joinedload(SurveyCode.counter),
            joinedload(SurveyCode.sector),
        )
    )
    by_text = {code.code: code for code in rows}
    return [by_text[t] for t in dict.fromkeys(wanted) if t in by_text]


def active_codes(
    session: Session, agency_ids: set[int] | None = None, counter_id: int | None = None
) -> list[SurveyCode]:
    """Return active counter codes, by agency, counter and sector position."""
    query = (
        select(SurveyCode)
        .join(SurveyCode.counter)
        .join(SurveyCode.sector)
        .join(SurveyCode.agency)
        .where(SurveyCode.revoked_at.is_(None), SurveyCode.kind == "counter")
        .options(
            joinedload(SurveyCode.agency),
            joinedload(SurveyCode.counter),
            joinedload(SurveyCode.sector),
        )
        .order_by(Agency.name, Counter.name, Sector.position, SurveyCode.id)
    )
    if agency_ids is not None:
        query = query.where(SurveyCode.agency_id.in_(agency_ids))
    if counter_id is not None:
        query = query.where(SurveyCode.counter_id == counter_id)
    return list(session.scalars(query))
