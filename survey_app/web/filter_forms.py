"""The filter bar of the dashboard, the quarterly report, the comments and the review queue.

GET forms (no CSRF token): one set of presets, labels, date formats and messages for every
page, and a download reads the very address of the page it was clicked on with the page's
own parser. What the form asks for is turned into a tally filter by services/filters.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField

from survey_app.models import Agency, Sector
from survey_app.services.filters import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_ID,
    FilterError,
    parse_period,
    preset_period,
    quarter_period,
)
from survey_app.services.periods import Period

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

    The agency is not checked against the choices here: `services.filters.resolve` checks it
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
                field.errors = [str(DAY_HINT)]
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


DAY_HINT = _l("Vui lòng viết ngày theo dạng ngày/tháng/năm, ví dụ 31/03/2025.")


class DayField(StringField):
    """A date typed dd/mm/yyyy and shown back that way; yyyy-mm-dd from an old link is read too."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw_text = (valuelist[0] if valuelist else "").strip()
        self.data = parse_day(self.raw_text) if self.raw_text else None
        if self.raw_text and self.data is None:
            raise ValueError(str(DAY_HINT))

    def _value(self) -> str:
        if isinstance(self.data, date):
            return self.data.strftime("%d/%m/%Y")
        return getattr(self, "raw_text", "") or ""


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
