"""Reads for the staff and managers' overview pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey_app.models import Agency, Counter, Response, SurveyCode, utcnow


@dataclass(frozen=True)
class AgencyRow:
    agency: Agency
    counters: int
    active_codes: int
    responses_30d: int


def agency_overview(
    session: Session, agency_ids: set[int] | None, now: datetime | None = None
) -> list[AgencyRow]:
    """Return the agencies in scope with their counters, active codes and recent responses."""
    since = (now or utcnow()) - timedelta(days=30)
    counters = (
        select(Counter.agency_id, func.count(Counter.id).label("n"))
        .group_by(Counter.agency_id)
        .subquery()
    )
    codes = (
        select(SurveyCode.agency_id, func.count(SurveyCode.id).label("n"))
        .where(SurveyCode.revoked_at.is_(None), SurveyCode.kind == "counter")
        .group_by(SurveyCode.agency_id)
        .subquery()
    )
    recent = (
        select(Response.agency_id, func.count(Response.id).label("n"))
        .where(Response.created_at >= since, Response.status == "counted")
        .group_by(Response.agency_id)
        .subquery()
    )
    query = (
        select(Agency, counters.c.n, codes.c.n, recent.c.n)
        .outerjoin(counters, counters.c.agency_id == Agency.id)
        .outerjoin(codes, codes.c.agency_id == Agency.id)
        .outerjoin(recent, recent.c.agency_id == Agency.id)
        .order_by(Agency.level.desc(), Agency.name)
    )
    if agency_ids is not None:
        query = query.where(Agency.id.in_(agency_ids))
    return [
        AgencyRow(agency, n_counters or 0, n_codes or 0, n_recent or 0)
        for agency, n_counters, n_codes, n_recent in session.execute(query)
    ]


@dataclass(frozen=True)
class CodeRow:
    code: SurveyCode
    responses_7d: int
    responses_30d: int
    last_response_at: datetime | None


def codes_of_agency(session: Session, agency: Agency, now: datetime | None = None) -> list[CodeRow]:
    """Return the agency's counter codes, newest first, each with its recent response counts.

    The hidden codes that file receipt answers are no counter's: never printed or revoked.
    """
    now = now or utcnow()
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    stats = (
        select(
            Response.survey_code_id,
            func.count(Response.id).filter(Response.created_at >= week).label("d7"),
            func.count(Response.id).filter(Response.created_at >= month).label("d30"),
            func.max(Response.created_at).label("last"),
        )
        .where(Response.agency_id == agency.id)
        .group_by(Response.survey_code_id)
        .subquery()
    )
    rows = session.execute(
        select(SurveyCode, stats.c.d7, stats.c.d30, stats.c.last)
        .outerjoin(stats, stats.c.survey_code_id == SurveyCode.id)
        .where(SurveyCode.agency_id == agency.id, SurveyCode.kind == "counter")
        .order_by(SurveyCode.revoked_at.is_not(None), SurveyCode.counter_id, SurveyCode.id.desc())
    )
    return [CodeRow(code, d7 or 0, d30 or 0, last) for code, d7, d30, last in rows]
