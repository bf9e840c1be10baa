"""The survey form, built from the questionnaire's data."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import (
    AnyOf,
    InputRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from survey_app.questionnaire import (
    COMMENT_MAX_LENGTH,
    DOSSIER_MAX_LENGTH,
    Question,
    Questionnaire,
)
from survey_app.survey.form_csrf import FormCookieCSRF
from survey_app.text import clean_dossier, clean_text
from survey_app.web.labels import number

DOSSIER_PATTERN = r"^[A-Z0-9./-]+$"
# The hidden field that only a machine fills in (see the template).
HONEYPOT_FIELD = "website"


class SingleValue:
    """Refuse a field sent more than once (q1=1&q1=5): which one did the citizen mean?"""

    def __init__(self, message: Any) -> None:
        self.message = message

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if len(field.raw_data or []) > 1:
            raise StopValidation(str(self.message))


class ChoiceList:
    """Validate a multiple choice: known values, each once, at most `limit` of them."""

    def __init__(self, values: tuple[str, ...], limit: int) -> None:
        self.values = values
        self.limit = limit

    def __call__(self, form: FlaskForm, field: Field) -> None:
        chosen = field.data or []
        if any(value not in self.values for value in chosen):
            raise ValidationError(_("Lựa chọn này không có trong danh sách, vui lòng chọn lại."))
        if len(set(chosen)) != len(chosen):
            raise ValidationError(_("Mỗi ý chỉ chọn một lần."))
        if len(chosen) > self.limit:
            raise ValidationError(_("Vui lòng chọn tối đa %(n)d ý.", n=self.limit))


def _text_filter(clean: Callable[[object], str | None]) -> Callable[[object], object]:
    """Clean typed text; leave anything else (an uploaded file) for TextOnly to refuse."""
    return lambda value: clean(value) if value is None or isinstance(value, str) else value


class TextOnly:
    """Refuse a file sent where a citizen types text (a script, not a phone, does that)."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data is not None and not isinstance(field.data, str):
            field.data = None
            raise StopValidation(_("Ô này chỉ nhận chữ, vui lòng nhập lại."))


def _question_field(question: Question) -> Field:
    invalid = _l("Câu trả lời này không có trong danh sách, vui lòng chọn lại.")
    if question.kind == "multi":
        # The template renders the choices from the questionnaire; validators check them.
        return SelectMultipleField(
            validate_choice=False,
            validators=[ChoiceList(question.values, question.max_choices)],
        )
    presence: Any = (
        InputRequired(message=_l("Vui lòng chọn một câu trả lời cho câu này."))
        if question.required
        else Optional()
    )
    return RadioField(
        validate_choice=False,
        validators=[SingleValue(invalid), presence, AnyOf(question.values, message=invalid)],
    )


@cache
def survey_form_class(questionnaire: Questionnaire, with_dossier: bool = True) -> type[FlaskForm]:
    """Return the form class for one questionnaire version.

    Without the dossier field for a receipt link, which knows its dossier: a dossier code
    sent anyway is not even read.
    """
    fields: dict[str, Any] = {q.key: _question_field(q) for q in questionnaire.questions}
    once = SingleValue(_l("Ô này chỉ nhận một nội dung, vui lòng nhập lại."))
    fields["comment"] = TextAreaField(
        filters=[_text_filter(clean_text)],
        validators=[
            once,
            TextOnly(),
            Optional(),
            Length(
                max=COMMENT_MAX_LENGTH,
                message=_l(
                    "Ý kiến dài quá %(max)s ký tự, vui lòng rút gọn.",
                    max=LazyString(lambda: number(COMMENT_MAX_LENGTH)),
                ),
            ),
        ],
    )
    if with_dossier:
        fields["dossier"] = _dossier_field(once)
    fields["submit_token"] = HiddenField()
    # Only its being filled in matters; what was typed is neither kept nor shown back.
    fields[HONEYPOT_FIELD] = StringField()
    # Its CSRF token needs no session (survey/form_csrf.py).
    fields["Meta"] = type("Meta", (), {"csrf_class": FormCookieCSRF})
    return type("SurveyForm", (FlaskForm,), fields)


def _dossier_field(once: SingleValue) -> Field:
    return StringField(
        filters=[_text_filter(clean_dossier)],
        validators=[
            once,
            TextOnly(),
            Optional(),
            Length(
                max=DOSSIER_MAX_LENGTH,
                message=_l("Mã hồ sơ dài tối đa %(max)d ký tự.", max=DOSSIER_MAX_LENGTH),
            ),
            Regexp(
                DOSSIER_PATTERN,
                message=_l(
                    "Mã hồ sơ chỉ gồm chữ cái không dấu, chữ số và các dấu - . / "
                    "(xem trên phiếu hẹn trả kết quả)."
                ),
            ),
        ],
    )
