"""Why a password was refused, in words for the person choosing it."""

from __future__ import annotations

from flask_babel import gettext as _

from survey_app.services.accounts import AccountError
from survey_app.services.passwords import MIN_PASSWORD_LENGTH


def password_message(error: AccountError) -> str | None:
    """Return the message of a refused password, or None when the error is about another thing."""
    reason = error.reason
    if reason == "password_short":
        n = error.min_length or MIN_PASSWORD_LENGTH
        if n > MIN_PASSWORD_LENGTH:
            return _("Mật khẩu của quản trị viên cần ít nhất %(n)d ký tự.", n=n)
        return _("Mật khẩu cần ít nhất %(n)d ký tự.", n=n)
    if reason == "password_long":
        return _("Mật khẩu dài quá 200 ký tự.")
    if reason == "password_common":
        return _("Mật khẩu này nằm trong danh sách mật khẩu phổ biến mà kẻ gian thường thử "
                 "đầu tiên. Vui lòng chọn mật khẩu khác.")
    if reason == "password_sequence":
        return _("Mật khẩu này chỉ là một dãy ký tự liên tiếp hoặc lặp lại (như 123456789 "
                 "hay aaaaaa) nên rất dễ đoán. Vui lòng chọn mật khẩu khác.")
    if reason == "password_personal":
        return _("Mật khẩu không được chứa tên trong email hay họ tên của chủ tài khoản. "
                 "Vui lòng chọn mật khẩu khác.")
    return None


def password_hint(min_length: int) -> str:
    return _("Ít nhất %(n)d ký tự; không dùng mật khẩu phổ biến, dãy ký tự liên tiếp hay lặp "
             "lại, hoặc tên, email của chủ tài khoản.", n=min_length)
