"""The survey form, built from the questionnaire's data, and the check of a post that
certainly passes it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import current_app, request
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
from survey_app.survey.form_csrf import FormCookieCSRF, is_valid_token
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
        # A blank choice ("q7= " from a script) is no answer, as an omitted one is: Optional
        # lets it through, and it must not reach the database's check as "  ".
        filters=[_blank_is_none],
        validators=[SingleValue(invalid), presence, AnyOf(question.values, message=invalid)],
    )


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


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


# A post that certainly passes the form ----------------------------------------------------
# Nearly every post is a whole, valid form. Building the WTForms form for it (thirteen
# fields bound, wtforms' catalogs looked up on disk) cost a tenth of a submission's CPU;
# certain_form_data reads such a post by hand and gives what `form.data` would. Anything it
# is not sure of (an error, an odd value the form would still take, a file) is left to the
# form, which shows the errors and keeps the answers.


@dataclass(frozen=True)
class _QuestionRule:
    key: str
    values: frozenset[str]
    is_required: bool
    max_choices: int | None  # a multiple choice: how many at most; None: a single answer


@dataclass(frozen=True)
class _PostRules:
    questions: tuple[_QuestionRule, ...]
    with_dossier: bool


_DOSSIER = re.compile(DOSSIER_PATTERN)  # as Regexp compiles it
_REFUSED = object()  # a text field the form would find in error


# Each form's rules, by questionnaire version (which names one questionnaire) and dossier
# field: looking a frozen questionnaire up by itself hashes every question, choice and text,
# which cost more than the whole check.
_POST_RULES: dict[tuple[str, bool], _PostRules] = {}


def _post_rules(questionnaire: Questionnaire, with_dossier: bool) -> _PostRules:
    """Return the allowed answers of one form, built once per questionnaire and dossier field."""
    key = (questionnaire.version, with_dossier)
    rules = _POST_RULES.get(key)
    if rules is None:
        rules = _POST_RULES[key] = _PostRules(
            questions=tuple(
                _QuestionRule(
                    key=q.key,
                    values=frozenset(q.values),
                    is_required=q.required,
                    max_choices=q.max_choices if q.kind == "multi" else None,
                )
                for q in questionnaire.questions
            ),
            with_dossier=with_dossier,
        )
    return rules


def certain_form_data(
    questionnaire: Questionnaire, with_dossier: bool = True
) -> dict[str, Any] | None:
    """Return what `survey_form_class(questionnaire, with_dossier)().data` gives for this
    request's post when the form would certainly find it valid; else None (build the form).
    """
    # FlaskForm reads files and JSON too: such a post, and one without CSRF, goes to it.
    if request.files or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    posted = request.form
    if not posted:
        return None
    rules = _post_rules(questionnaire, with_dossier)
    data: dict[str, Any] = {}
    for rule in rules.questions:
        sent = posted.getlist(rule.key)
        if rule.max_choices is not None:
            # ChoiceList: known values, each once, not too many; none sent is [].
            if len(sent) > rule.max_choices or len(set(sent)) != len(sent):
                return None
            if not rule.values.issuperset(sent):
                return None
            data[rule.key] = sent
        elif len(sent) == 1 and sent[0] in rule.values:
            data[rule.key] = sent[0]
        elif sent or rule.is_required:  # sent twice, unknown, or required and missing
            return None
        else:
            data[rule.key] = None
    comment = _certain_text(posted.getlist("comment"), clean_text, _is_comment)
    if comment is _REFUSED:
        return None
    data["comment"] = comment
    if rules.with_dossier:
        dossier = _certain_text(posted.getlist("dossier"), clean_dossier, _is_dossier)
        if dossier is _REFUSED:
            return None
        data["dossier"] = dossier
    data["submit_token"] = posted.get("submit_token")
    data[HONEYPOT_FIELD] = posted.get(HONEYPOT_FIELD)
    csrf_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    tokens = posted.getlist(csrf_field)
    if len(tokens) != 1 or not is_valid_token(tokens[0]):
        return None
    data[csrf_field] = tokens[0]
    return data


def _certain_text(
    sent: list[str], clean: Callable[[object], str | None], is_valid: Callable[[str | None], bool]
) -> object:
    """Return a text field's data as the form gives it, or _REFUSED when it has errors.

    Mirrors the field's chain: SingleValue; Optional, which lets a blank entry pass
    unchecked; then the checks of the cleaned text.
    """
    if len(sent) > 1:
        return _REFUSED
    if not sent:
        return None  # the field's default, through the filter: clean(None) is None
    data = clean(sent[0])
    if not sent[0].strip() or is_valid(data):
        return data
    return _REFUSED


# What the form checks of a cleaned text that was not blank: Length, and for the dossier
# Regexp, which refuses what cleaning left empty (a code of dashes only).
def _is_comment(data: str | None) -> bool:
    return len(data or "") <= COMMENT_MAX_LENGTH


def _is_dossier(data: str | None) -> bool:
    return len(data or "") <= DOSSIER_MAX_LENGTH and _DOSSIER.match(data or "") is not None
