"""Forms of the targets pages: a year's thresholds, and the scopes they are set for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, IntegerField, SelectMultipleField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from survey_app.models import Sector, TargetScope
from survey_app.sipas import Indicator
from survey_app.text import clean_code, clean_text
from survey_app.web.i18n import current_language
from survey_app.web.labels import INDICATOR_LABELS

YEAR_MIN, YEAR_MAX = 2000, 2100
SAMPLE_MIN, SAMPLE_MAX = 1, 10000
ONE_DECIMAL = Decimal("0.1")
SCOPE_CODE_PATTERN = r"^[A-Z0-9_-]+$"
SCOPE_CODE_MAX_LENGTH = 40  # TargetScope.code

NOT_A_PERCENTAGE = _l("Chỉ tiêu cần là một số, ví dụ 90 hoặc 92,5.")
PERCENTAGE_RANGE = _l("Chỉ tiêu cần từ 0 đến 100.")
TOO_MANY_DECIMALS = _l("Chỉ tiêu có tối đa một chữ số sau dấu phẩy, ví dụ 92,5.")

# On the targets pages the overall indicator names its question: two figures look alike.
INDICATOR_HEADINGS = {
    Indicator.OVERALL: _l("Hài lòng về giải quyết TTHC (câu 6)"),
    Indicator.SIPAS_INDEX: INDICATOR_LABELS[Indicator.SIPAS_INDEX.value],
}

ThresholdKey = tuple[Indicator, str]  # (indicator, scope code)


class PercentField(DecimalField):
    """A percentage from 0 to 100, typed with a decimal comma (92,5) or point (92.5)."""

    # Text, not type="number": a browser may drop a "92,5" it cannot read as a number and
    # send an empty box, which here means "no target".
    widget = TextInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        typed = str(valuelist[0]).strip().replace(",", ".")
        self.data = None
        if not typed:
            return
        try:
            value = Decimal(typed)
        except InvalidOperation as error:
            raise ValueError(str(self.invalid_value_message)) from error
        if not value.is_finite():  # "NaN", "Infinity"
            raise ValueError(str(self.invalid_value_message))
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_decimal(self.data) if self.data is not None else ""


def _one_decimal(form: FlaskForm, field: PercentField) -> None:
    value = None if field.data is None else Decimal(str(field.data))
    if value is not None and value != value.quantize(ONE_DECIMAL):
        raise ValidationError(str(TOO_MANY_DECIMALS))


def _readable(form: FlaskForm, field: Field) -> None:
    # "Not a number" says it all: a range check of nothing would add a second message.
    if field.process_errors:
        raise StopValidation()


def _percent(label: str) -> PercentField:
    # Optional: an empty box means no target of this indicator for this scope.
    return PercentField(
        label,
        invalid_value_message=NOT_A_PERCENTAGE,
        validators=[Optional(), _readable,
                    NumberRange(min=0, max=100, message=PERCENTAGE_RANGE), _one_decimal],
    )


def _year_field() -> IntegerField:
    return IntegerField(
        _l("Năm"),
        invalid_value_message=_l("Năm cần là một số nguyên, ví dụ 2026."),
        validators=[
            InputRequired(message=_l("Vui lòng nhập năm.")),
            _readable,
            NumberRange(min=YEAR_MIN, max=YEAR_MAX,
                        message=_l("Năm cần từ %(low)d đến %(high)d.",
                                   low=YEAR_MIN, high=YEAR_MAX)),
        ],
    )


def _min_sample_field() -> IntegerField:
    return IntegerField(
        _l("Số phiếu tối thiểu"),
        invalid_value_message=_l("Số phiếu tối thiểu cần là một số nguyên, ví dụ 30."),
        validators=[
            InputRequired(message=_l("Vui lòng nhập số phiếu tối thiểu.")),
            _readable,
            NumberRange(min=SAMPLE_MIN, max=SAMPLE_MAX,
                        message=_l("Số phiếu tối thiểu cần từ 1 đến 10.000.")),
        ],
    )


def threshold_field_name(indicator: Indicator, scope_code: str) -> str:
    return f"{indicator.value}-{scope_code}"


class TargetForm(FlaskForm):
    """A year's thresholds, one field per scope and indicator, and its minimum sample.

    The fields depend on the scopes in the database: `target_form` makes the class.
    """

    scopes: ClassVar[Sequence[TargetScope]] = ()

    def rows(self) -> list[tuple[TargetScope, list[tuple[Indicator, Field]]]]:
        """Return the threshold fields by scope, then by indicator, as the page lays them out."""
        return [(scope, [(indicator, self[threshold_field_name(indicator, scope.code)])
                         for indicator in Indicator])
                for scope in self.scopes]

    def thresholds(self) -> dict[ThresholdKey, float | None]:
        """Return the typed thresholds by (indicator, scope code); None where left empty."""
        return {
            (indicator, scope.code): None if field.data is None else float(field.data)
            for scope, fields in self.rows() for indicator, field in fields
        }


def target_form(scopes: Sequence[TargetScope], *, new_year: bool = False) -> type[TargetForm]:
    """Return the form of a year's targets for these scopes (with a year field for a new one)."""
    locale = current_language()
    fields: dict[str, Any] = {"scopes": tuple(scopes)}
    if new_year:
        fields["year"] = _year_field()
    for scope in scopes:
        for indicator in Indicator:
            fields[threshold_field_name(indicator, scope.code)] = _percent(
                _("%(scope)s – %(indicator)s", scope=scope.label(locale),
                  indicator=INDICATOR_HEADINGS[indicator])
            )
    fields["min_sample"] = _min_sample_field()
    return type("YearTargetForm", (TargetForm,), fields)


def target_form_data(min_sample: int, thresholds: Mapping[ThresholdKey, float | None],
                     year: int | None = None) -> dict[str, Any]:
    """Return what a year's form starts with."""
    data: dict[str, Any] = {
        threshold_field_name(indicator, code): value
        for (indicator, code), value in thresholds.items()
    }
    data["min_sample"] = min_sample
    if year is not None:
        data["year"] = year
    return data


# Scopes ----------------------------------------------------------------------------------


def _text(value: object) -> str:
    return clean_text(value) or ""


def _label_field(label: Any, missing: Any) -> StringField:
    return StringField(label, filters=[_text], validators=[
        DataRequired(message=missing), Length(max=200, message=_l("Tên dài quá 200 ký tự.")),
    ])


class ScopeForm(FlaskForm):
    """A scope: its code (set once), its labels and its sectors (not for the all-sector one)."""

    code = StringField(
        _l("Mã phạm vi"),
        filters=[clean_code],
        validators=[
            DataRequired(message=_l("Vui lòng nhập mã phạm vi.")),
            Length(max=SCOPE_CODE_MAX_LENGTH, message=_l("Mã phạm vi dài quá 40 ký tự.")),
            Regexp(SCOPE_CODE_PATTERN, message=_l(
                "Mã phạm vi chỉ gồm chữ in hoa không dấu, chữ số, dấu - và dấu _.")),
        ],
    )
    label_vi = _label_field(_l("Tên tiếng Việt"), _l("Vui lòng nhập tên tiếng Việt."))
    label_en = _label_field(_l("Tên tiếng Anh"), _l("Vui lòng nhập tên tiếng Anh."))
    sector_ids = SelectMultipleField(
        _l("Lĩnh vực"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        invalid_value_message=_l("Vui lòng chọn lĩnh vực trong danh sách."),
        invalid_choice_message=_l("Vui lòng chọn lĩnh vực trong danh sách."),
        validators=[DataRequired(message=_l("Vui lòng chọn ít nhất một lĩnh vực."))],
    )

    def __init__(self, *args: Any, sectors: Sequence[Sector],
                 scope: TargetScope | None = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=scope, **kwargs)
        if scope is not None:
            del self.code  # a scope's code never changes: reports and exports name it
            if scope.covers_all_sectors:
                del self.sector_ids
            elif not self.is_submitted():
                self.sector_ids.data = [s.id for s in scope.sectors]
        if "sector_ids" in self:
            locale = current_language()
            self.sector_ids.choices = [(s.id, s.label(locale)) for s in sectors]

    def chosen_sectors(self, sectors: Sequence[Sector]) -> list[Sector] | None:
        """Return the ticked sectors, or None when the form has no sector boxes."""
        if "sector_ids" not in self:
            return None
        chosen = set(self.sector_ids.data or ())
        return [s for s in sectors if s.id in chosen]
