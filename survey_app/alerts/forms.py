"""Forms of the alerts pages: a note, a rule's settings, the e-mail choice."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from survey_app.alerts.wording import DELIVERY_LABELS, PARAMETER_LABELS
from survey_app.models import ALERT_DELIVERIES, ALERT_NOTE_MAX_LENGTH
from survey_app.services.alerts import PARAMETERS
from survey_app.text import clean_text

NOTE_TOO_LONG = _l("Ghi chú tối đa 1.000 ký tự.")  # ALERT_NOTE_MAX_LENGTH


def _cleaned(value: str | None) -> str | None:
    return clean_text(value) if value else value


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(
        _l("Ghi chú: đã làm gì, sẽ làm gì"),
        filters=[_cleaned],
        validators=[DataRequired(_l("Vui lòng ghi chú việc đã hoặc sẽ làm.")),
                    Length(max=ALERT_NOTE_MAX_LENGTH, message=NOTE_TOO_LONG)],
    )


class CloseForm(FlaskForm):
    note = TextAreaField(
        _l("Ghi chú khi đóng (không bắt buộc)"),
        filters=[_cleaned],
        validators=[Optional(), Length(max=ALERT_NOTE_MAX_LENGTH, message=NOTE_TOO_LONG)],
    )


def rule_form(kind: str) -> type[FlaskForm]:
    """Return the form of one rule: on or off, and its parameters within their ranges."""

    class RuleForm(FlaskForm):
        is_enabled = BooleanField(_l("Đang bật"))

    for name, (_default, low, high) in PARAMETERS[kind].items():
        setattr(RuleForm, name, IntegerField(
            PARAMETER_LABELS[name],
            validators=[
                InputRequired(_l("Vui lòng nhập một số nguyên.")),
                NumberRange(low, high, _l("Cần từ %(min)d đến %(max)d.", min=low, max=high)),
            ],
        ))
    return RuleForm


class PreferenceForm(FlaskForm):
    delivery = RadioField(
        _l("Nhận cảnh báo qua email"),
        choices=[SelectChoice(value, DELIVERY_LABELS[value]) for value in ALERT_DELIVERIES],
        validators=[InputRequired(_l("Vui lòng chọn một cách nhận."))],
    )
