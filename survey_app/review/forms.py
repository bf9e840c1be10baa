"""Forms of the review pages: the filters (a GET form) and flagging or restoring a response."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, Field, HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional

from survey_app.models import Agency, Sector
from survey_app.review.services import MANUAL_REASONS, NOTE_MAX_LENGTH, earliest_day
from survey_app.scope_filters import PRESETS, preset_period
from survey_app.tallies import Period
from survey_app.text import clean_text

INVALID_CHOICE = _l("Vui lòng chọn một mục trong danh sách.")
INVALID_DATE = _l("Vui lòng nhập ngày theo dạng năm-tháng-ngày, ví dụ 2025-03-31.")
SEARCH_MAX_LENGTH = 100
# A period may cover at most ten years, as everywhere else (scope_filters.parse_period).
MAX_PERIOD_DAYS = 3660
ALL_TIME = "all"
CUSTOM = "custom"

PERIOD_LABELS = {
    "this_month": _l("Tháng này"),
    "this_quarter": _l("Quý này"),
    "this_year": _l("Năm nay"),
    "last_12_months": _l("12 tháng gần đây"),
    ALL_TIME: _l("Toàn bộ thời gian"),
    CUSTOM: _l("Từ ngày … đến ngày … (nhập bên cạnh)"),
}
STATUS_FILTER_LABELS = {
    "all": _l("Tất cả"),
    "counted": _l("Được tính"),
    "not_counted": _l("Không được tính (trùng mã hồ sơ hoặc đã đánh dấu)"),
}
MANUAL_REASON_LABELS = {
    "abuse": _l("Lạm dụng / phiếu giả"),
    "test": _l("Phiếu thử"),
    "other": _l("Khác"),
}


def _typed(field: Field) -> bool:
    return any(str(value).strip() for value in field.raw_data or [])


class ReviewFilterForm(FlaskForm):
    """Filters read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    period = SelectField(_l("Thời gian"), default="last_12_months",
                         invalid_choice_message=INVALID_CHOICE)
    date_from = DateField(_l("Từ ngày"), name="from", validators=[Optional()],
                          invalid_value_message=INVALID_DATE)
    date_to = DateField(_l("Đến ngày"), name="to", validators=[Optional()],
                        invalid_value_message=INVALID_DATE)
    # Checked against the user's scope by scope_filters.resolve, not by the choice list,
    # so that an agency outside the scope is refused (403) rather than called invalid.
    agency = SelectField(_l("Đơn vị"), default="", validate_choice=False)
    sector = SelectField(_l("Lĩnh vực"), default="", validate_choice=False)

    def __init__(self, *args: Any, agencies: Sequence[Agency], sectors: Sequence[Sector],
                 locale: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.period.choices = [(key, str(label)) for key, label in PERIOD_LABELS.items()]
        self.agency.choices = [("", _("Mọi đơn vị trong phạm vi"))] + [
            (a.code, f"{a.name} ({a.code})") for a in agencies
        ]
        self.sector.choices = [("", _("Mọi lĩnh vực"))] + [
            (s.code, s.label(locale)) for s in sectors
        ]

    @property
    def is_custom_period(self) -> bool:
        return self.period.data == CUSTOM or _typed(self.date_from) or _typed(self.date_to)

    def validate(self, extra_validators: Any = None) -> bool:
        is_valid = super().validate(extra_validators)
        if not is_valid or not self.is_custom_period:
            return is_valid
        # Dates typed by hand win over the preset chosen in the list.
        self.period.data = CUSTOM
        if self.date_from.data is None or self.date_to.data is None:
            missing = self.date_to if self.date_from.data else self.date_from
            missing.errors = [_("Vui lòng nhập cả ngày bắt đầu và ngày kết thúc.")]
            return False
        if self.date_to.data < self.date_from.data:
            self.date_to.errors = [_("Ngày kết thúc cần sau hoặc trùng ngày bắt đầu.")]
            return False
        if (self.date_to.data - self.date_from.data).days > MAX_PERIOD_DAYS:
            self.date_to.errors = [_("Khoảng thời gian dài nhất là 10 năm.")]
            return False
        return True

    def chosen_period(self, today: date) -> Period:
        """Return the period asked for (call after validate)."""
        if self.period.data == CUSTOM and self.date_from.data and self.date_to.data:
            return Period(self.date_from.data, self.date_to.data)
        if self.period.data == ALL_TIME:
            return Period(earliest_day(), today)
        if self.period.data in PRESETS:
            return preset_period(self.period.data, today)
        return preset_period("last_12_months", today)


class CommentFilterForm(ReviewFilterForm):
    is_low_only = BooleanField(
        _l("Chỉ phiếu không hài lòng chung (câu 6: Rất không hài lòng hoặc Không hài lòng)"),
        name="low",
    )
    status = SelectField(_l("Trạng thái"), default="all", invalid_choice_message=INVALID_CHOICE)
    search = StringField(
        _l("Ý kiến có chứa"),
        name="q",
        filters=[clean_text],
        validators=[Optional(), Length(max=SEARCH_MAX_LENGTH, message=_l(
            "Nội dung tìm dài quá %(n)d ký tự.", n=SEARCH_MAX_LENGTH))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = [(key, str(label)) for key, label in STATUS_FILTER_LABELS.items()]


class QueueFilterForm(ReviewFilterForm):
    # What is waiting for review may be old: the queue shows all of it unless narrowed.
    period = SelectField(_l("Thời gian"), default=ALL_TIME, invalid_choice_message=INVALID_CHOICE)


class FlagForm(FlaskForm):
    reason = SelectField(_l("Lý do"), invalid_choice_message=INVALID_CHOICE)
    note = StringField(
        _l("Ghi chú (không bắt buộc)"),
        filters=[clean_text],
        validators=[Optional(), Length(max=NOTE_MAX_LENGTH, message=_l(
            "Ghi chú dài quá %(n)d ký tự.", n=NOTE_MAX_LENGTH))],
    )
    next = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = [(code, str(MANUAL_REASON_LABELS[code])) for code in MANUAL_REASONS]


class RestoreForm(FlaskForm):
    next = HiddenField()
