"""Error pages that say what happened and what the visitor can do."""

from __future__ import annotations

from contextlib import suppress

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.web import ratelimit

# Seconds to wait before trying again when the database cannot be reached: a restart of
# PostgreSQL takes a few seconds, a failover under a minute.
DATABASE_RETRY_AFTER = 30


def _messages(status: int) -> tuple[str, str]:
    """Return the title and the one-sentence advice for an HTTP status."""
    messages = {
        400: (
            _("Chưa thực hiện được yêu cầu"),
            _("Trang đã mở quá lâu hoặc chưa tải xong. Vui lòng tải lại trang và thử lại."),
        ),
        403: (
            _("Không có quyền truy cập"),
            _(
                "Tài khoản của Ông/Bà không được xem trang này. Nếu cần, vui lòng liên hệ "
                "quản trị viên để được cấp quyền."
            ),
        ),
        404: (
            _("Không tìm thấy mã đánh giá"),
            _(
                "Mã này không có trong hệ thống. Vui lòng kiểm tra lại mã trên tờ mã QR, "
                "hoặc nhờ cán bộ tại quầy cung cấp mã mới."
            ),
        ),
        405: (
            _("Chưa thực hiện được yêu cầu"),
            _("Trang này không nhận yêu cầu theo cách đó. Vui lòng quay lại trang trước."),
        ),
        410: (
            _("Mã QR này đã ngừng sử dụng"),
            _(
                "Mã đánh giá này đã được thay thế hoặc thu hồi. Vui lòng nhờ cán bộ tại quầy "
                "cung cấp mã QR mới."
            ),
        ),
        413: (
            _("Nội dung gửi quá lớn"),
            _("Nội dung gửi lên vượt quá giới hạn cho phép. Vui lòng rút gọn và gửi lại."),
        ),
        429: (
            _("Quá nhiều yêu cầu"),
            _("Hệ thống đang nhận quá nhiều yêu cầu. Vui lòng đợi một lát rồi thử lại."),
        ),
        500: (
            _("Hệ thống đang gặp sự cố"),
            _(
                "Rất tiếc, hệ thống đang gặp sự cố và chưa lưu được yêu cầu. "
                "Vui lòng thử lại sau ít phút."
            ),
        ),
        503: (
            _("Hệ thống đang tạm gián đoạn"),
            _("Hệ thống tạm thời chưa sẵn sàng. Vui lòng tải lại trang sau ít phút."),
        ),
    }
    return messages.get(status) or messages[500 if status >= 500 else 400]


def render_error(error: HTTPException) -> tuple[Response | str, int]:
    """Render an HTTP error as a page, or as JSON under /api/."""
    status = error.code or 500
    title, advice = _messages(status)
    if status == 404 and not request.path.startswith("/s/"):
        title = _("Không tìm thấy trang")
        advice = _("Trang này không tồn tại. Vui lòng kiểm tra lại địa chỉ.")
    if request.path.startswith("/api/"):
        response = jsonify(error={"status": status, "title": title, "message": advice})
    else:
        response = make_response(
            render_template("errors/error.html", status=status, title=title, advice=advice)
        )
    if status == 429:
        response.headers["Retry-After"] = str(ratelimit.retry_after())
    for name, value in error.get_headers():
        if name == "Retry-After":  # ServiceUnavailable(retry_after=...)
            response.headers[name] = value
    return response, status


def render_server_error(error: Exception) -> tuple[Response | str, int]:
    # Whatever failed, the session must not carry a half-done transaction further.
    db.session.rollback()
    return render_error(InternalServerError())


def render_database_unavailable(error: OperationalError) -> tuple[Response | str, int]:
    """Say that the database is away for a moment (503), instead of a bare server error."""
    discard_transaction()
    log_database_unavailable(error)
    return render_error(ServiceUnavailable(retry_after=DATABASE_RETRY_AFTER))


def discard_transaction() -> None:
    """Roll back what this request began; a connection that is gone has nothing to undo."""
    with suppress(OperationalError):
        db.session.rollback()


def log_database_unavailable(error: OperationalError) -> None:
    # One line per request, no traceback: a restart makes many of them, all alike.
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    current_app.logger.warning(
        "database unreachable on %s %s: %s", request.method, request.path,
        reason[0] if reason else type(error).__name__,
    )


def render_csrf_error(error: CSRFError) -> tuple[Response | str, int]:
    return render_error(error)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(CSRFError, render_csrf_error)
    app.register_error_handler(InternalServerError, render_server_error)
    app.register_error_handler(OperationalError, render_database_unavailable)
