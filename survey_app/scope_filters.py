"""Turn what a person asks for (period, agency, counter, sector) into a tally filter.

The dashboard, the exports and the API all go through `resolve`, so the scope of the
signed-in user (or of the API token's owner) is enforced in one place: asking for an
agency outside it is an error, never an empty or silently widened answer. The filter forms
of the dashboard, the quarterly report and the review pages live here too, so that they
share one filter bar and a download reads the very address of the page it was clicked on
with the page's own parser.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import HiddenField, SelectField, StringField

from survey_app.auth.access import agency_with_descendants, visible_agency_ids
from survey_app.models import Agency, Counter, Sector, User
from survey_app.tallies import Period, TallyFilter, month_start
from survey_app.text import clean_code

PRESETS = ("this_month", "this_quarter", "this_year", "last_12_months")
# Dates are read as written in the API and the exports, YYYY-MM-DD and nothing looser, and
# only in years the service can hold: the edges of the calendar overflow the time-zone
# arithmetic of a period's bounds.
FIRST_YEAR, LAST_YEAR = 2000, 2100
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
    visible = visible_agency_ids(session, user)
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


# The forms of the pages (GET forms, no CSRF token) -----------------------------------------

CUSTOM = "custom"
PERIOD_LABELS = {
    "this_month": _l("Tháng này"),
    "this_quarter": _l("Quý này"),
    "this_year": _l("Năm nay"),
    "last_12_months": _l("12 tháng gần nhất"),
    CUSTOM: _l("Tự chọn khoảng ngày"),
}
DEFAULT_PRESET = "this_year"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
QUARTER_NAMES = {1: "I", 2: "II", 3: "III", 4: "IV"}
INVALID_CHOICE = _l("Vui lòng chọn một mục trong danh sách.")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ScopeForm(FlaskForm):
    """Agency and sector: shared by the dashboard and the quarterly report.

    The agency is not checked against the choices here: `scope_filters.resolve` checks it
    against the user's scope, in the one place that does so for every page and the API.
    """

    class Meta:
        csrf = False  # GET forms that only read

    agency = SelectField(_l("Đơn vị"), validate_choice=False, filters=[_strip])
    sector = SelectField(_l("Lĩnh vực"), validate_choice=False, filters=[_strip])

    def fill_choices(
        self, agencies: Sequence[Agency], sectors: Sequence[Sector], language: str
    ) -> None:
        self.agency.choices = [("", _("Tất cả đơn vị trong phạm vi"))] + [
            (a.code, a.name) for a in agencies
        ]
        self.sector.choices = [("", _("Tất cả lĩnh vực"))] + [
            (s.code, s.label(language)) for s in sectors
        ]


class PeriodScopeForm(ScopeForm):
    """The filter bar of the dashboard and the review pages: period, dates, agency, sector.

    One set of presets, one default and dates typed dd/mm/yyyy under the same names as in
    the API and the exports, so an address carries its filter from one page to another.
    """

    period = SelectField(
        _l("Thời gian"), default=DEFAULT_PRESET, invalid_choice_message=INVALID_CHOICE
    )
    # Named as in the API and the exports, so one address works for all three.
    start = StringField(_l("Từ ngày"), name="from", filters=[_strip])
    end = StringField(_l("Đến ngày"), name="to", filters=[_strip])

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.period.choices = [(key, str(label)) for key, label in PERIOD_LABELS.items()]
        self.today = today
        self.chosen_period: Period | None = None

    @property
    def is_custom(self) -> bool:
        # Dates typed in win over the preset still shown in the list: they were typed last.
        return self.period.data == CUSTOM or bool(self.start.data or self.end.data)

    def validate(self, extra_validators: Any = None) -> bool:
        is_valid = super().validate(extra_validators)
        if is_valid:
            is_valid = self._check_period()
        return is_valid

    def _check_period(self) -> bool:
        if not self.is_custom:
            self.chosen_period = preset_period(self.period.data or DEFAULT_PRESET, self.today)
            return True
        self.period.data = CUSTOM
        days: list[date] = []
        for field in (self.start, self.end):
            if not field.data:
                field.errors = [_("Vui lòng nhập cả ngày bắt đầu và ngày kết thúc.")]
                continue
            day = parse_day(field.data)
            if day is None:
                field.errors = [_("Ngày không hợp lệ: hãy viết theo dạng ngày/tháng/năm, "
                                  "ví dụ 31/03/2025.")]
            elif not FIRST_YEAR <= day.year <= LAST_YEAR:
                field.errors = [_("Ngày phải trong các năm từ %(first)d đến %(last)d.",
                                  first=FIRST_YEAR, last=LAST_YEAR)]
            else:
                days.append(day)
        if len(days) != 2:
            return False
        first, last = days
        try:
            self.chosen_period = parse_period(first.isoformat(), last.isoformat())
        except FilterError:
            if last < first:
                self.end.errors = [_("Ngày kết thúc phải trùng hoặc sau ngày bắt đầu.")]
            else:
                self.end.errors = [_("Khoảng thời gian dài nhất là 10 năm.")]
            return False
        return True


class DashboardFilterForm(PeriodScopeForm):
    counter = SelectField(_l("Quầy"), validate_choice=False, filters=[_strip])
    sort = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counter_id: int | None = None
        # Without JavaScript the counters of an agency are listed once the agency is chosen.
        self.counter_needs_agency = True

    def validate(self, extra_validators: Any = None) -> bool:
        is_valid = super().validate(extra_validators)
        if is_valid:
            is_valid = self._check_counter()
        return is_valid

    def _check_counter(self) -> bool:
        if not self.counter.data:
            return True
        value = self.counter.data
        if not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID):
            self.counter.errors = [INVALID_CHOICE]
            return False
        self.counter_id = int(value)
        return True


class QuarterReportForm(ScopeForm):
    year = StringField(_l("Năm"), filters=[_strip])
    quarter = SelectField(_l("Quý"), invalid_choice_message=INVALID_CHOICE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quarter.choices = [(str(n), name) for n, name in QUARTER_NAMES.items()]
        self.chosen_period: Period | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        year = self.year.data or ""
        if not (year.isascii() and year.isdigit() and FIRST_YEAR <= int(year) <= LAST_YEAR):
            self.year.errors = [
                _("Năm phải là một số từ %(first)d đến %(last)d.", first=FIRST_YEAR,
                  last=LAST_YEAR)
            ]
            return False
        self.chosen_period = quarter_period(int(year), int(self.quarter.data or 0))
        return True


def parse_day(text: str) -> date | None:
    """Return the date written dd/mm/yyyy (as people write it) or yyyy-mm-dd (as links do)."""
    match = DAY_MONTH_YEAR.match(text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        if ISO_DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None
