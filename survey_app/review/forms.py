"""Forms of the review pages: the filters (a GET form) and flagging or restoring a response."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from survey_app.services.review import ERASE_REASON_MAX_LENGTH, MANUAL_REASONS, NOTE_MAX_LENGTH
from survey_app.text import clean_text
from survey_app.web.filter_forms import INVALID_CHOICE, PeriodScopeForm

SEARCH_MAX_LENGTH = 100

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


class ReviewFilterForm(PeriodScopeForm):
    """The dashboard's filter bar (period, dates, agency, sector), read from the query string.

    The agency is checked against the user's scope by services.filters.resolve, not by the
    choice list, so that an agency outside the scope is refused (403) rather than called
    invalid.
    """


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
    """The filters of the responses left out of the figures: the filter bar alone."""


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


class EraseCommentForm(FlaskForm):
    """Confirm erasing one comment: why (required), kept in the audit log."""

    reason = StringField(
        _l("Lý do xóa"),
        filters=[clean_text],
        validators=[
            DataRequired(message=_l("Vui lòng ghi lý do xóa ý kiến.")),
            Length(max=ERASE_REASON_MAX_LENGTH, message=_l(
                "Lý do dài quá %(n)d ký tự.", n=ERASE_REASON_MAX_LENGTH)),
        ],
    )
    next = HiddenField()
