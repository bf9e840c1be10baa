"""Forms of the administration pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from survey_app.models import (
    AGENCY_CODE_PATTERN,
    AGENCY_LEVELS,
    HOTLINE_MAX_LENGTH,
    HOTLINE_NOTE_MAX_LENGTH,
    ROLES,
    Agency,
)
from survey_app.services.accounts import MIN_PASSWORD_LENGTH, AccountError
from survey_app.text import clean_code, clean_hotline, clean_text
from survey_app.web.audit_labels import action_choices
from survey_app.web.labels import level_label, role_label
from survey_app.web.password_messages import password_message

INVALID_CHOICE = _l("Vui lòng chọn một mục trong danh sách.")
PASSWORD_TOO_SHORT = _l("Mật khẩu cần ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH)


def _text(value: object) -> str:
    return clean_text(value) or ""


def _optional_id(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _optional_str(value: Any) -> str | None:
    return str(value) if value else None


def _agency_select(label: LazyString) -> SelectField:
    return SelectField(label, coerce=_optional_id, invalid_choice_message=INVALID_CHOICE,
                       invalid_value_message=INVALID_CHOICE)


def _agency_choices(agencies: Sequence[Agency], empty_label: str) -> list[tuple[Any, str]]:
    return [("", empty_label)] + [(a.id, f"{a.name} ({a.code})") for a in agencies]


def _required_text(label: LazyString, max_length: int, missing: LazyString,
                   too_long: LazyString, *, filters: Sequence[Any] = (_text,),
                   validators: Sequence[Any] = ()) -> StringField:
    return StringField(
        label,
        filters=list(filters),
        validators=[DataRequired(message=missing), Length(max=max_length, message=too_long),
                    *validators],
    )


def _password_field(label: LazyString) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(message=_l("Vui lòng nhập mật khẩu.")),
            Length(min=MIN_PASSWORD_LENGTH, max=200, message=PASSWORD_TOO_SHORT),
        ],
    )


def add_error(form: FlaskForm, field_name: str | None, message: str | LazyString) -> None:
    """Show a refusal from a service beside the field it concerns, or above the form."""
    field = getattr(form, field_name, None) if field_name else None
    if field is None:
        form.form_errors.append(message)
    else:
        field.errors = [*field.errors, message]


# The account services explain a refusal in English for developers; people read these.
# AccountError.reason -> (field, message)
_ACCOUNT_ERRORS = {
    "email_taken": ("email", _l("Email này đã có tài khoản.")),
    "email_invalid": ("email", _l("Địa chỉ email không hợp lệ.")),
    "agency_required": ("agency_id", _l("Lãnh đạo và cán bộ cần thuộc một đơn vị.")),
    "role_invalid": ("role", INVALID_CHOICE),
}


def add_account_error(form: FlaskForm, error: AccountError) -> None:
    """Show why the account service refused, beside the field concerned, in Vietnamese."""
    if error.reason in _ACCOUNT_ERRORS:
        field_name, message = _ACCOUNT_ERRORS[error.reason]
        add_error(form, field_name, message)
        return
    refused = password_message(error)
    if refused is not None:
        add_error(form, "password", refused)
        return
    add_error(form, None, _l("Chưa lưu được thay đổi. Vui lòng kiểm tra lại thông tin."))


# Accounts --------------------------------------------------------------------------------


class _AccountForm(FlaskForm):
    name = StringField(_l("Họ và tên"), filters=[_text],
                       validators=[Length(max=200, message=_l("Họ và tên dài quá 200 ký tự."))])
    # The least powerful role by default: an admin account is never made by oversight.
    role = SelectField(_l("Vai trò"), default="staff", invalid_choice_message=INVALID_CHOICE)
    agency_id = _agency_select(_l("Đơn vị"))

    def __init__(self, *args: Any, agencies: Sequence[Agency], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [(role, role_label(role)) for role in ROLES]
        self.agency_id.choices = _agency_choices(
            agencies, _("Không thuộc đơn vị nào (chỉ dành cho quản trị)")
        )


class UserCreateForm(_AccountForm):
    email = EmailField(
        _l("Email"),
        filters=[_text],
        validators=[
            DataRequired(message=_l("Vui lòng nhập email.")),
            Length(max=254, message=_l("Email dài quá 254 ký tự.")),
        ],
    )
    password = _password_field(_l("Mật khẩu ban đầu"))


class UserEditForm(_AccountForm):
    is_enabled = BooleanField(_l("Cho phép đăng nhập"))


class PasswordResetForm(FlaskForm):
    password = _password_field(_l("Mật khẩu mới"))


class ResetLinkForm(FlaskForm):
    """The button that issues a one-time reset link: only its CSRF token."""


# Agencies, counters, sectors -------------------------------------------------------------


class AgencyForm(FlaskForm):
    code = _required_text(
        _l("Mã đơn vị"), 40, _l("Vui lòng nhập mã đơn vị."), _l("Mã đơn vị dài quá 40 ký tự."),
        filters=[clean_code],
        validators=[Regexp(
            AGENCY_CODE_PATTERN,
            message=_l("Mã đơn vị chỉ gồm chữ in hoa không dấu, chữ số, dấu - và dấu _."),
        )],
    )
    name = _required_text(_l("Tên đơn vị"), 200, _l("Vui lòng nhập tên đơn vị."),
                          _l("Tên đơn vị dài quá 200 ký tự."))
    level = SelectField(_l("Cấp"), invalid_choice_message=INVALID_CHOICE)
    parent_id = _agency_select(_l("Đơn vị cấp trên"))
    hotline = StringField(
        _l("Số điện thoại đường dây nóng"),
        filters=[clean_text],
        validators=[Optional(), Length(max=HOTLINE_MAX_LENGTH, message=_l(
            "Số điện thoại dài quá %(n)d ký tự.", n=HOTLINE_MAX_LENGTH))],
    )
    hotline_note = StringField(
        _l("Ghi chú về đường dây nóng"),
        filters=[clean_text],
        validators=[Optional(), Length(max=HOTLINE_NOTE_MAX_LENGTH, message=_l(
            "Ghi chú dài quá %(n)d ký tự.", n=HOTLINE_NOTE_MAX_LENGTH))],
    )

    def __init__(self, *args: Any, agencies: Sequence[Agency], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.level.choices = [(level, level_label(level)) for level in AGENCY_LEVELS]
        self.parent_id.choices = _agency_choices(agencies, _("Không có"))

    def validate_hotline(self, field: StringField) -> None:
        if not field.data:
            return
        phone = clean_hotline(field.data)
        if phone is None:
            raise ValidationError(_(
                "Số điện thoại chỉ gồm chữ số, có thể cách nhau bằng dấu cách, dấu chấm hoặc "
                "dấu gạch ngang, ví dụ 0233 3852 111 hoặc 1022."))
        field.data = phone


class CounterForm(FlaskForm):
    name = _required_text(_l("Tên quầy"), 100, _l("Vui lòng nhập tên quầy."),
                          _l("Tên quầy dài quá 100 ký tự."))


class SectorForm(FlaskForm):
    label_vi = _required_text(_l("Tên tiếng Việt"), 200, _l("Vui lòng nhập tên tiếng Việt."),
                              _l("Tên dài quá 200 ký tự."))
    label_en = _required_text(_l("Tên tiếng Anh"), 200, _l("Vui lòng nhập tên tiếng Anh."),
                              _l("Tên dài quá 200 ký tự."))


# Audit log -------------------------------------------------------------------------------

INVALID_DATE = _l("Vui lòng nhập ngày theo dạng năm-tháng-ngày, ví dụ 2025-03-31.")


class AuditFilterForm(FlaskForm):
    """Filters read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Thao tác"), default="", invalid_choice_message=INVALID_CHOICE)
    actor = StringField(
        _l("Email người thực hiện có chứa"),
        filters=[clean_text],
        validators=[Optional(), Length(max=254, message=_l("Nội dung tìm dài quá 254 ký tự."))],
    )
    date_from = DateField(_l("Từ ngày"), validators=[Optional()],
                          invalid_value_message=INVALID_DATE)
    date_to = DateField(_l("Đến ngày"), validators=[Optional()],
                        invalid_value_message=INVALID_DATE)

    def __init__(self, *args: Any, actions: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _("Tất cả")), *action_choices(list(actions))]

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_("Ngày kết thúc cần sau hoặc trùng ngày bắt đầu."))
