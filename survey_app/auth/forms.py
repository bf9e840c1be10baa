"""Forms of the account pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from survey_app.services.accounts import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[InputRequired(message=_l("Vui lòng nhập email.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[InputRequired(message=_l("Vui lòng nhập mật khẩu.")), Length(max=200)],
    )


def _new_password_field() -> PasswordField:
    return PasswordField(
        _l("Mật khẩu mới"),
        validators=[
            InputRequired(message=_l("Vui lòng nhập mật khẩu mới.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Mật khẩu mới cần ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH),
            ),
        ],
    )


def _confirm_field() -> PasswordField:
    return PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[EqualTo("new_password", message=_l("Hai mật khẩu mới không khớp nhau."))],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Mật khẩu hiện tại"),
        validators=[InputRequired(message=_l("Vui lòng nhập mật khẩu hiện tại."))],
    )
    new_password = _new_password_field()
    confirm = _confirm_field()


class ResetPasswordForm(FlaskForm):
    """The page a one-time reset link opens: the new password, twice."""

    new_password = _new_password_field()
    confirm = _confirm_field()


class CodeForm(FlaskForm):
    """A code from the phone's authenticator app (or, at sign-in, a recovery code)."""

    code = StringField(
        _l("Mã xác thực"),
        filters=[lambda value: (value or "").strip()],
        validators=[
            InputRequired(message=_l("Vui lòng nhập mã xác thực.")),
            Length(max=20, message=_l("Mã xác thực không đúng.")),
        ],
    )
