"""The naive recount the tallies are checked against: every response, one by one."""

from __future__ import annotations

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from survey_app.models import (
    TALLY_COUNT_COLUMNS,
    Response,
)
from survey_app.services.periods import (
    deployment_zone,
)
from survey_app.services.responses import matching
from survey_app.services.rollups import increments
from survey_app.services.tallies import TallyFilter, answer_counts
from survey_app.sipas import AnswerCounts


def naive_recount(session: Session, flt: TallyFilter) -> AnswerCounts:
    """Count the responses table directly, response by response (tests and checks only)."""
    query = select(Response).where(*matching(flt, deployment_zone()))
    totals = dict.fromkeys(TALLY_COUNT_COLUMNS, 0)
    for response in session.scalars(query):
        for column, n in increments(response, response.wish_codes).items():
            totals[column] += n
    return answer_counts(totals)

