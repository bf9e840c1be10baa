"""The responses behind the figures, row by row: the API's list and the downloads.

One query, filtered like the tallies (a TallyFilter), read a page at a time by its
primary key, so a download of a year streams in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from survey_app.models import Agency, Counter, Response, ResponseWish, Sector, SurveyCode
from survey_app.questionnaire import INTEGRITY_KEY, RATING_KEYS, WISH_KEY
from survey_app.services.periods import utc_bounds
from survey_app.services.tallies import TallyFilter

# Responses --------------------------------------------------------------------------------

# The answer fields follow the questionnaire: its rating and integrity questions, then q8.
ANSWER_KEYS = (*RATING_KEYS, INTEGRITY_KEY)
RESPONSE_FIELDS = (
    "id", "created_at", "agency", "counter", "sector", "code", "source",
    *ANSWER_KEYS, WISH_KEY,
    "comment", "comment_masked", "status", "reason", "language", "questionnaire_version",
)  # fmt: skip


def _response_columns() -> list[Any]:
    return [
        Response.id,
        Response.created_at,
        Agency.code.label("agency"),
        Counter.name.label("counter"),
        Sector.code.label("sector"),
        SurveyCode.code.label("code"),
        SurveyCode.kind.label("source"),
        *(Response.answer_column(key).label(key) for key in ANSWER_KEYS),
        Response.comment,
        Response.comment_masked,
        Response.status,
        Response.status_reason,
        Response.language,
        Response.questionnaire_version,
    ]


def matching(flt: TallyFilter, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    """Return the conditions on the responses table that a tally filter stands for."""
    start, end = utc_bounds(flt.period, zone)
    conditions = [Response.created_at >= start, Response.created_at < end]
    if flt.agency_ids is not None:
        conditions.append(Response.agency_id.in_(sorted(flt.agency_ids)))
    if flt.counter_id is not None:
        conditions.append(Response.counter_id == flt.counter_id)
    if flt.sector_ids is not None:
        conditions.append(Response.sector_id.in_(sorted(flt.sector_ids)))
    if flt.statuses is not None:
        conditions.append(Response.status.in_(flt.statuses))
    return conditions


def _responses_query(flt: TallyFilter, zone: ZoneInfo) -> Select[Any]:
    return (
        select(*_response_columns())
        .join(Agency, Agency.id == Response.agency_id)
        .join(Counter, Counter.id == Response.counter_id)
        .join(Sector, Sector.id == Response.sector_id)
        .join(SurveyCode, SurveyCode.id == Response.survey_code_id)
        .where(*matching(flt, zone))
    )


def _wishes_of(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    wishes: dict[int, list[str]] = {}
    if ids:
        rows = session.execute(
            select(ResponseWish.response_id, ResponseWish.wish)
            .where(ResponseWish.response_id.in_(ids))
            .order_by(ResponseWish.response_id, ResponseWish.wish)
        )
        for response_id, wish in rows:
            wishes.setdefault(response_id, []).append(wish)
    return wishes


def response_page(
    session: Session, flt: TallyFilter, zone: ZoneInfo, after_id: int, limit: int
) -> list[dict[str, Any]]:
    """Return up to `limit` responses with an id above `after_id`, oldest first.

    Keyset pagination on the primary key: each page is one query for the responses and
    one for their wishes, however deep into the list it starts.
    """
    rows = session.execute(
        _responses_query(flt, zone).where(Response.id > after_id).order_by(Response.id).limit(limit)
    ).all()
    wishes = _wishes_of(session, [row.id for row in rows])
    return [
        {
            "id": row.id,
            "created_at": row.created_at.astimezone(zone).isoformat(),
            "agency": row.agency,
            "counter": row.counter,
            "sector": row.sector,
            "code": row.code,
            "source": row.source,
            **{key: row._mapping[key] for key in ANSWER_KEYS},
            WISH_KEY: wishes.get(row.id, []),
            "comment": row.comment,
            "comment_masked": bool(row.comment_masked),
            "status": row.status,
            "reason": row.status_reason,
            "language": row.language,
            "questionnaire_version": row.questionnaire_version,
        }
        for row in rows
    ]


def iter_responses(
    session: Session, flt: TallyFilter, zone: ZoneInfo, batch_size: int
) -> Iterator[dict[str, Any]]:
    """Yield every response of the filter, oldest first, reading `batch_size` at a time."""
    after_id = 0
    while True:
        page = response_page(session, flt, zone, after_id, batch_size)
        yield from page
        if len(page) < batch_size:
            return
        after_id = page[-1]["id"]
