"""Plain data for the API and the exports: filters from query parameters, figures, responses.

The API answers with these dicts as JSON and the exports write the same values as rows, so
a figure or a response reads the same wherever it is downloaded. Percentages are 0..100
and never rounded here: rounding is for display.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from survey_app import sipas
from survey_app.models import Agency, Counter, Response, ResponseWish, Sector, SurveyCode, User
from survey_app.questionnaire import INTEGRITY_KEY, RATING_KEYS, WISH_KEY
from survey_app.reports import Report, ScopeFigures, TargetCheck
from survey_app.scope_filters import FilterError, ResolvedFilter, parse_period, resolve
from survey_app.tallies import TallyFilter, utc_bounds

FILTER_PARAMETERS = ("from", "to", "agency", "counter", "sector")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


# Query parameters -------------------------------------------------------------------------


def whole_number(value: str, name: str) -> int:
    """Return a non-negative integer parameter, or raise FilterError (reason "parameter")."""
    if not _WHOLE_NUMBER.fullmatch(value):
        raise FilterError(f"{name} must be a whole number, got {value!r}", "parameter")
    return int(value)


def filter_from_args(
    session: Session,
    user: User,
    args: Mapping[str, str],
    statuses: tuple[str, ...] | None = ("counted",),
) -> ResolvedFilter:
    """Resolve the from/to/agency/counter/sector parameters within the user's scope."""
    period = parse_period(args.get("from"), args.get("to"))
    counter = args.get("counter") or None
    return resolve(
        session,
        user,
        period,
        agency_code=args.get("agency") or None,
        counter_id=None if counter is None else whole_number(counter, "counter"),
        sector_code=args.get("sector") or None,
        statuses=statuses,
    )


def filter_error_status(error: FilterError) -> int:
    """Return the HTTP status of a filter that cannot be answered."""
    if error.reason.startswith("forbidden"):
        return 403
    if error.reason.startswith("unknown"):
        return 404
    return 400


def filter_summary(args: Mapping[str, str]) -> dict[str, str]:
    """Return the filter parameters that were given, as asked (for the audit log)."""
    return {name: args[name] for name in FILTER_PARAMETERS if args.get(name)}


# Figures ----------------------------------------------------------------------------------


def share_dict(share: sipas.Share) -> dict[str, Any]:
    return {
        "valid": share.valid,
        "satisfied": share.satisfied,
        "share": share.share,
        "ci_low": share.ci_low,
        "ci_high": share.ci_high,
    }


def target_dict(check: TargetCheck) -> dict[str, Any]:
    return {
        "metric": check.metric.value,
        "threshold": check.threshold,
        "status": check.judgement.status.value,
        "uncertain": check.judgement.uncertain,
        "scope": check.scope,
        "year": check.year,
    }


def scores_dict(scores: sipas.Scores) -> dict[str, Any]:
    """Return how many responses, their index with its interval and their overall share."""
    return {
        "responses": scores.responses,
        "sipas_index": scores.sipas_index,
        "sipas_ci_low": scores.sipas_low,
        "sipas_ci_high": scores.sipas_high,
        "overall": share_dict(scores.overall),
    }


def scope_dict(figures: ScopeFigures) -> dict[str, Any]:
    """Return every figure of one scope: counted and raw, index, shares, verdicts."""
    scores = figures.scores
    return {
        **scores_dict(scores),  # responses, the index and its interval, overall
        "not_counted": figures.not_counted,
        "flagged": figures.by_status.get("flagged", 0),
        "duplicate": figures.by_status.get("duplicate", 0),
        "by_status": dict(sorted(figures.by_status.items())),
        "elements": {key: share_dict(share) for key, share in scores.elements.items()},
        "integrity": share_dict(scores.integrity),
        "wish_respondents": scores.wish_respondents,
        "wishes": dict(sorted(scores.wishes.items())),
        "targets": [target_dict(check) for check in figures.targets],
        "raw": scores_dict(figures.raw_scores),
    }


def report_dict(report: Report) -> dict[str, Any]:
    """Return the figures of a period: the target scopes, and each sector counted in it."""
    return {
        "from": report.period.start.isoformat(),
        "to": report.period.end.isoformat(),
        "target_year": report.target_year,
        "targets_borrowed": report.borrows_targets,
        "min_sample": report.min_sample,
        "scopes": {key: scope_dict(figures) for key, figures in report.scopes.items()},
        "sectors": {
            code: scope_dict(figures)
            for code, figures in report.sectors.items()
            if figures.responses > 0
        },
    }


# Responses --------------------------------------------------------------------------------

# The answer fields follow the questionnaire: its rating and integrity questions, then q8.
ANSWER_KEYS = (*RATING_KEYS, INTEGRITY_KEY)
RESPONSE_FIELDS = (
    "id", "created_at", "agency", "counter", "sector", "code",
    *ANSWER_KEYS, WISH_KEY,
    "comment", "status", "reason", "language", "questionnaire_version",
)  # fmt: skip


def _response_columns() -> list[Any]:
    return [
        Response.id,
        Response.created_at,
        Agency.code.label("agency"),
        Counter.name.label("counter"),
        Sector.code.label("sector"),
        SurveyCode.code.label("code"),
        *(Response.answer_column(key).label(key) for key in ANSWER_KEYS),
        Response.comment,
        Response.status,
        Response.status_reason,
        Response.language,
        Response.questionnaire_version,
    ]


def _responses_query(flt: TallyFilter, zone: ZoneInfo) -> Select[Any]:
    start, end = utc_bounds(flt.period, zone)
    query = (
        select(*_response_columns())
        .join(Agency, Agency.id == Response.agency_id)
        .join(Counter, Counter.id == Response.counter_id)
        .join(Sector, Sector.id == Response.sector_id)
        .join(SurveyCode, SurveyCode.id == Response.survey_code_id)
        .where(Response.created_at >= start, Response.created_at < end)
    )
    if flt.agency_ids is not None:
        query = query.where(Response.agency_id.in_(sorted(flt.agency_ids)))
    if flt.counter_id is not None:
        query = query.where(Response.counter_id == flt.counter_id)
    if flt.sector_ids is not None:
        query = query.where(Response.sector_id.in_(sorted(flt.sector_ids)))
    if flt.statuses is not None:
        query = query.where(Response.status.in_(flt.statuses))
    return query


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
            **{key: row._mapping[key] for key in ANSWER_KEYS},
            WISH_KEY: wishes.get(row.id, []),
            "comment": row.comment,
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
