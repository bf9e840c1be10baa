"""Turn what a person asks for (period, agency, counter, sector) into a tally filter.

The dashboard, the exports, the review pages and the API all go through `resolve`, so the
scope of the signed-in user (or of the API token's owner) is enforced in one place: asking
for an agency outside it is an error, never an empty or silently widened answer. The pages'
filter forms (web/filter_forms.py) and the API's query parameters both end here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.models import Agency, Counter, Sector, User
from survey_app.services.access import agency_with_descendants, visible_agency_ids
from survey_app.services.periods import Period, month_start
from survey_app.services.tallies import TallyFilter
from survey_app.text import clean_code

PRESETS = ("this_month", "this_quarter", "this_year", "last_12_months")
# Dates are read as written in the API and the exports, YYYY-MM-DD and nothing looser, and
# only in years the service can hold: the edges of the calendar overflow the time-zone
# arithmetic of a period's bounds.
FIRST_YEAR, LAST_YEAR = 2000, 2100
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The largest id an INTEGER column holds: PostgreSQL refuses to compare with a larger one.
MAX_ID = 2**31 - 1


class FilterError(ValueError):
    """A filter that cannot be answered; `reason` is a stable key for pages and the API."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ResolvedFilter:
    tally: TallyFilter
    agency: Agency | None
    counter: Counter | None
    sector: Sector | None


def preset_period(name: str, today: date) -> Period:
    """Return the period of a preset, in local dates, ending today at the latest."""
    if name == "this_month":
        return Period(month_start(today), today)
    if name == "this_quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        return Period(date(today.year, first_month, 1), today)
    if name == "this_year":
        return Period(date(today.year, 1, 1), today)
    if name == "last_12_months":
        start = month_start(today)
        for _ in range(11):
            start = month_start(start - timedelta(days=1))
        return Period(start, today)
    raise FilterError(f"unknown period {name!r}; choose from {', '.join(PRESETS)}", "period")


def quarter_period(year: int, quarter: int) -> Period:
    """Return the whole calendar quarter (1..4) of a year."""
    if quarter not in (1, 2, 3, 4):
        raise FilterError("quarter must be 1, 2, 3 or 4", "period")
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(start, end - timedelta(days=1))


def parse_period(start: str | None, end: str | None) -> Period:
    """Return the period between two YYYY-MM-DD dates, both included."""
    if not start or not end:
        raise FilterError("both dates are needed (YYYY-MM-DD)", "period")
    if not (_ISO_DATE.fullmatch(start) and _ISO_DATE.fullmatch(end)):
        raise FilterError("dates must be written YYYY-MM-DD", "period")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as error:
        raise FilterError("dates must be written YYYY-MM-DD", "period") from error
    if first.year < FIRST_YEAR or last.year > LAST_YEAR:
        raise FilterError(f"dates must fall in the years {FIRST_YEAR} to {LAST_YEAR}", "period")
    if last < first:
        raise FilterError("the end date is before the start date", "period")
    if (last - first).days > 3660:
        raise FilterError("a period may cover at most ten years", "period")
    return Period(first, last)


def resolve(
    session: Session,
    user: User,
    period: Period,
    agency_code: str | None = None,
    counter_id: int | None = None,
    sector_code: str | None = None,
    statuses: tuple[str, ...] | None = ("counted",),
) -> ResolvedFilter:
    """Check the request against the user's scope and return the filter to tally."""
    visible = visible_agency_ids(session, user, "figures.view")
    agency = None
    agency_ids = None if visible is None else frozenset(visible)
    if agency_code:
        agency = session.scalar(select(Agency).where(Agency.code == clean_code(agency_code)))
        if agency is None:
            raise FilterError(f"no agency with code {agency_code!r}", "unknown_agency")
        if visible is not None and agency.id not in visible:
            raise FilterError(f"agency {agency.code} is outside your scope", "forbidden_agency")
        agency_ids = frozenset(agency_with_descendants(session, agency.id))
    counter = None
    if counter_id is not None:
        counter = session.get(Counter, counter_id) if 0 < counter_id <= MAX_ID else None
        if counter is None:
            raise FilterError(f"no counter {counter_id}", "unknown_counter")
        if agency_ids is not None and counter.agency_id not in agency_ids:
            if visible is not None and counter.agency_id not in visible:
                raise FilterError(f"counter {counter_id} is outside your scope",
                                  "forbidden_counter")
            raise FilterError(f"counter {counter_id} is not of agency {agency_code}",
                              "unknown_counter")
    sector = None
    sector_ids = None
    if sector_code:
        sector = session.scalar(select(Sector).where(Sector.code == clean_code(sector_code)))
        if sector is None:
            raise FilterError(f"no sector with code {sector_code!r}", "unknown_sector")
        sector_ids = frozenset({sector.id})
    tally = TallyFilter(period, agency_ids, counter_id, sector_ids, statuses)
    return ResolvedFilter(tally, agency, counter, sector)


# Query parameters (the API and the downloads) ---------------------------------------------

FILTER_PARAMETERS = ("from", "to", "agency", "counter", "sector")


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
