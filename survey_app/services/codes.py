"""Survey codes: short, typable, unguessable identifiers printed as QR codes."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Agency, Counter, Sector, SurveyCode
from survey_app.text import ALPHABET

CODE_LENGTH = 8  # 31**8 ≈ 8.5e11 codes: guessing one is hopeless even before rate limits


def new_code() -> str:
    """Return a random code; uniqueness is left to the database."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def survey_url_root() -> str:
    """Return the public address of the app, without a trailing slash."""
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")


def survey_url(code: str) -> str:
    """Return the public address of a code's form, as printed on the QR."""
    return f"{survey_url_root()}/s/{code}"


def create_survey_code(
    session: Session, agency: Agency, counter: Counter, sector: Sector, kind: str = "counter"
) -> SurveyCode:
    """Issue a new active code for one agency + counter + sector (a receipt code: hidden)."""
    if counter.agency_id != agency.id:
        raise ValueError("the counter belongs to another agency")
    while True:
        code = new_code()
        if session.scalar(select(SurveyCode.id).where(SurveyCode.code == code)) is None:
            break
    survey_code = SurveyCode(code=code, agency=agency, counter=counter, sector=sector, kind=kind)
    session.add(survey_code)
    session.flush()
    return survey_code


def active_code_for(session: Session, counter: Counter, sector: Sector) -> SurveyCode | None:
    """Return the newest active code of a counter for a sector, if any."""
    return session.scalar(
        select(SurveyCode)
        .where(
            SurveyCode.counter_id == counter.id,
            SurveyCode.sector_id == sector.id,
            SurveyCode.revoked_at.is_(None),
        )
        .order_by(SurveyCode.id.desc())
        .limit(1)
    )
