"""Reads and writes behind the survey form. Writes only flush; the caller commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from survey_app import tallies
from survey_app.hashing import keyed_hash
from survey_app.models import Response, ResponseWish, SurveyCode, utcnow
from survey_app.questionnaire import NOT_APPLICABLE, Questionnaire
from survey_app.text import clean_code

DUPLICATE_DOSSIER = "dossier_repeat"


def find_survey_code(session: Session, code: str) -> SurveyCode | None:
    """Return the survey code as typed or scanned (any case), with its labels loaded."""
    normalised = clean_code(code)
    if not normalised:
        return None
    return session.scalar(
        select(SurveyCode)
        .where(SurveyCode.code == normalised)
        .options(
            joinedload(SurveyCode.agency),
            joinedload(SurveyCode.counter),
            joinedload(SurveyCode.sector),
        )
    )


def active_survey_code_or_abort(session: Session, code: str) -> SurveyCode:
    """Return the active code; 404 when there is no such code, 410 when it was revoked."""
    survey_code = find_survey_code(session, code)
    if survey_code is None:
        abort(404)
    if not survey_code.is_active:
        abort(410)
    return survey_code


# Submit tokens -------------------------------------------------------------------------
# Each rendering of the form carries a signed, single-use token. The response stores its
# nonce under a unique constraint, so a double click, a browser retry or a replay finds
# the response already made instead of making a second one.


@dataclass(frozen=True)
class SubmitToken:
    nonce: str
    code: str


def _token_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="survey-submit")


def issue_submit_token(survey_code: SurveyCode) -> str:
    """Return a new signed submit token for one rendering of the form."""
    payload = {"n": secrets.token_urlsafe(18), "c": survey_code.code}
    return _token_serializer().dumps(payload)


def read_submit_token(token: str | None, survey_code: SurveyCode) -> SubmitToken | None:
    """Return the token's content, or None when it is missing, forged, stale or not this code's."""
    if not token:
        return None
    try:
        payload = _token_serializer().loads(
            token, max_age=current_app.config["SUBMIT_TOKEN_MAX_AGE"]
        )
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict) or payload.get("c") != survey_code.code:
        return None
    nonce = payload.get("n")
    if not isinstance(nonce, str) or not nonce:
        return None
    return SubmitToken(nonce=nonce, code=survey_code.code)


def response_for_nonce(session: Session, nonce: str) -> Response | None:
    """Return the response already made with this submit token, if any."""
    return session.scalar(select(Response).where(Response.submit_nonce == nonce))


# Recording -----------------------------------------------------------------------------


def dossier_hash(dossier: str) -> str:
    """Return the keyed hash under which a (normalised) dossier code is kept."""
    return keyed_hash("dossier", dossier)


def _has_counted_dossier(session: Session, agency_id: int, hashed: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Response.agency_id == agency_id,
                    Response.dossier_hash == hashed,
                    Response.status == "counted",
                )
            )
        )
    )


def _scale_value(value: str | None) -> int | None:
    return None if value is None or value in ("", NOT_APPLICABLE) else int(value)


def record_response(
    session: Session,
    survey_code: SurveyCode,
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    nonce: str,
    language: str,
    now: datetime | None = None,
) -> tuple[Response, bool]:
    """Store one submitted form; return the response and whether it is new.

    `answers` are the validated form values: q1..q6 as "1".."5" or "na", q7 a code or
    None, q8 a list of codes, comment and dossier already normalised.
    """
    existing = response_for_nonce(session, nonce)
    if existing is not None:
        return existing, False

    hashed = dossier_hash(answers["dossier"]) if answers.get("dossier") else None
    is_repeat = hashed is not None and _has_counted_dossier(session, survey_code.agency_id, hashed)

    def build(repeat: bool) -> Response:
        response = Response(
            survey_code_id=survey_code.id,
            agency_id=survey_code.agency_id,
            counter_id=survey_code.counter_id,
            sector_id=survey_code.sector_id,
            questionnaire_version=questionnaire.version,
            q1=_scale_value(answers.get("q1")),
            q2=_scale_value(answers.get("q2")),
            q3=_scale_value(answers.get("q3")),
            q4=_scale_value(answers.get("q4")),
            q5=_scale_value(answers.get("q5")),
            q6=_scale_value(answers.get("q6")),
            q7=answers.get("q7") or None,
            comment=answers.get("comment") or None,
            dossier_hash=hashed,
            language=language,
            status="duplicate" if repeat else "counted",
            status_reason=DUPLICATE_DOSSIER if repeat else None,
            submit_nonce=nonce,
            created_at=now or utcnow(),
        )
        response.wishes = [ResponseWish(wish=code) for code in answers.get("q8") or []]
        return response

    # A savepoint, so that losing a race to a concurrent submit undoes only this insert.
    try:
        with session.begin_nested():
            response = build(is_repeat)
            session.add(response)
    except IntegrityError:
        # Either the same form was submitted concurrently, or another response with the
        # same dossier code was counted in the meantime.
        existing = response_for_nonce(session, nonce)
        if existing is not None:
            return existing, False
        if hashed is None or is_repeat:
            raise
        with session.begin_nested():
            response = build(True)
            session.add(response)
    tallies.record_response(session, response)
    return response, True
