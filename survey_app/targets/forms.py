"""Forms of the targets pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField
from wtforms.validators import InputRequired, NumberRange, ValidationError

from survey_app.targets.services import THRESHOLD_FIELDS

YEAR_MIN, YEAR_MAX = 2000, 2100
SAMPLE_MIN, SAMPLE_MAX = 1, 10000
ONE_DECIMAL = Decimal("0.1")

NOT_A_PERCENTAGE = _l("Chỉ tiêu cần là một số, ví dụ 90 hoặc 92,5.")
PERCENTAGE_RANGE = _l("Chỉ tiêu cần từ 0 đến 100.")
TOO_MANY_DECIMALS = _l("Chỉ tiêu có tối đa một chữ số sau dấu phẩy, ví dụ 92,5.")


class PercentField(DecimalField):
    """A percentage from 0 to 100, typed with a decimal comma (92,5) or point (92.5)."""

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


def _percent(label: Any) -> PercentField:
    return PercentField(
        label,
        invalid_value_message=NOT_A_PERCENTAGE,
        # InputRequired, not DataRequired: 0 is a valid target.
        validators=[
            InputRequired(message=_l("Vui lòng nhập chỉ tiêu (phần trăm).")),
            NumberRange(min=0, max=100, message=PERCENTAGE_RANGE),
            _one_decimal,
        ],
    )


class TargetForm(FlaskForm):
    """The thresholds and the minimum sample of one year."""

    sipas_all = _percent(_l("Tất cả lĩnh vực (%)"))
    sipas_land = _percent(_l("Đất đai (%)"))
    sipas_construction = _percent(_l("Xây dựng (%)"))
    sipas_investment = _percent(_l("Đầu tư (%)"))
    sipas_land_construction_investment = _percent(_l("Đất đai, xây dựng và đầu tư gộp chung (%)"))
    min_sample = IntegerField(
        _l("Số phiếu tối thiểu"),
        invalid_value_message=_l("Số phiếu tối thiểu cần là một số nguyên, ví dụ 30."),
        validators=[
            InputRequired(message=_l("Vui lòng nhập số phiếu tối thiểu.")),
            NumberRange(min=SAMPLE_MIN, max=SAMPLE_MAX,
                        message=_l("Số phiếu tối thiểu cần từ 1 đến 10.000.")),
        ],
    )

    def values(self) -> dict[str, Any]:
        return {name: self[name].data for name in (*THRESHOLD_FIELDS, "min_sample")}


class TargetCreateForm(TargetForm):
    year = IntegerField(
        _l("Năm"),
        invalid_value_message=_l("Năm cần là một số nguyên, ví dụ 2026."),
        validators=[
            InputRequired(message=_l("Vui lòng nhập năm.")),
            NumberRange(min=YEAR_MIN, max=YEAR_MAX,
                        message=_l("Năm cần từ %(low)d đến %(high)d.",
                                   low=YEAR_MIN, high=YEAR_MAX)),
        ],
    )
