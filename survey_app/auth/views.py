"""Sign in, sign out, change one's own password, set a new one through a reset link."""

from __future__ import annotations

import base64
import math
import time
from datetime import timedelta
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from survey_app.auth import bp
from survey_app.auth.forms import ChangePasswordForm, CodeForm, LoginForm, ResetPasswordForm
from survey_app.extensions import db
from survey_app.models import User
from survey_app.services import audit, qr
from survey_app.services import second_factor as factors
from survey_app.services.accounts import (
    AccountError,
    ResetLinkError,
    authenticate,
    end_session,
    find_reset_link,
    finish_sign_in,
    lock_for,
    note_failure,
    set_password,
    start_session,
    use_reset_link,
)
from survey_app.services.passwords import min_length_for
from survey_app.web.access import SESSION_SECRET_KEY
from survey_app.web.password_messages import password_hint, password_message
from survey_app.web.redirects import safe_next_url

# The signed cookie's entry of a sign-in waiting for its second-factor code.
PENDING_KEY = "pending_sign_in"
# How long the code page waits after the password.
PENDING_SECONDS = 5 * 60


@bp.app_template_global()
def home_url() -> str:
    """Return where a person starts: managers the figures, staff their codes."""
    if not current_user.is_authenticated:
        return url_for("auth.login")
    if current_user.role in ("manager", "admin"):
        return url_for("dashboard.index")
    return url_for("manage.index")


# What opens while a password someone else chose is still to be replaced, or while an
# administrator has no second factor yet. Public pages and the API (which takes a token,
# not a session) are never held back.
_OPEN_BEFORE_OWN_PASSWORD = {"auth.change_password", "auth.logout", "auth.reset_password", "static"}
_OPEN_BEFORE_SECOND_FACTOR = {
    "auth.second_factor", "auth.logout", "auth.reset_password", "static"}
_PUBLIC_BLUEPRINTS = {"survey", "main", "api"}


@bp.before_app_request
def require_own_password() -> Any:
    """Send someone whose password an admin chose to the page that replaces it, and an
    administrator without a second factor to the page that turns it on."""
    if (
        request.endpoint is None
        or request.endpoint == "static"  # files never ask who is signed in
        or request.blueprint in _PUBLIC_BLUEPRINTS
    ):
        return None
    if not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        if request.endpoint in _OPEN_BEFORE_OWN_PASSWORD:
            return None
        return redirect(url_for("auth.change_password"))
    if (
        request.endpoint not in _OPEN_BEFORE_SECOND_FACTOR
        and not current_user.has_second_factor
        and factors.is_required(current_user)
    ):
        return redirect(url_for("auth.second_factor"))
    return None


def _next_url() -> str:
    return safe_next_url(request.args.get("next"), home_url())


def _sign_in(user: User) -> None:
    """Open a signed-in session for the user in this browser, and commit."""
    browser_session.pop(PENDING_KEY, None)
    browser_session[SESSION_SECRET_KEY] = start_session(
        db.session, user, replacing=browser_session.get(SESSION_SECRET_KEY)
    )
    login_user(user)
    db.session.commit()


def _locked_message(locked_for: timedelta) -> str:
    minutes = max(1, math.ceil(locked_for.total_seconds() / 60))
    return ngettext(
        "Đăng nhập tạm thời bị khóa vì nhập sai nhiều lần. "
        "Vui lòng thử lại sau %(num)d phút.",
        "Đăng nhập tạm thời bị khóa vì nhập sai nhiều lần. "
        "Vui lòng thử lại sau %(num)d phút.",
        minutes,
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(_next_url())
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        result = authenticate(db.session, form.email.data, form.password.data, request.remote_addr)
        if result.user is not None and result.needs_code:
            # Not signed in yet: the signed cookie remembers whose code is awaited.
            browser_session[PENDING_KEY] = {
                "user": result.user.id, "version": result.user.session_version,
                "until": time.time() + PENDING_SECONDS,
            }
            db.session.commit()
            return redirect(url_for("auth.second_step", next=request.args.get("next")))
        if result.user is not None:
            _sign_in(result.user)
            return redirect(_next_url())
        db.session.commit()  # keep the failure: it counts towards the lock
        if result.locked_for is not None:
            error = _locked_message(result.locked_for)
            status = 429
        else:
            # The same words whether the email exists or not.
            error = _("Email hoặc mật khẩu không đúng.")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


def _pending_user() -> User | None:
    """Return the account whose password was just right and whose code is awaited."""
    pending = browser_session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        return None
    user = db.session.get(User, pending.get("user"))
    if (
        user is None
        or not user.is_enabled
        or not user.has_second_factor
        or user.session_version != pending.get("version")
    ):
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
def second_step() -> Any:
    """The second step of signing in: a code from the phone's app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(_next_url())
    user = _pending_user()
    if user is None:
        browser_session.pop(PENDING_KEY, None)
        flash(_("Đã quá thời gian nhập mã xác thực. Vui lòng đăng nhập lại."), "error")
        return redirect(url_for("auth.login", next=request.args.get("next")))
    form = CodeForm()
    error = None
    status = 200
    if form.validate_on_submit():
        locked_for = lock_for(db.session, user, request.remote_addr)
        if locked_for is not None:
            audit.record(db.session, "login.refused", actor=user, step="second_factor")
            db.session.commit()
            error, status = _locked_message(locked_for), 429
        elif factors.check_code(db.session, user, form.code.data):
            finish_sign_in(db.session, user, request.remote_addr)
            _sign_in(user)
            left = factors.unused_recovery_codes(db.session, user)
            if left <= 3:
                flash(_("Bạn chỉ còn %(n)d mã khôi phục chưa dùng. Hãy tạo bộ mã mới trong "
                        "trang Xác thực hai bước.", n=left), "error")
            return redirect(_next_url())
        else:
            note_failure(db.session, user, request.remote_addr)
            db.session.commit()  # the wrong code counts towards the lock
            error, status = _("Mã xác thực không đúng hoặc đã được dùng. Vui lòng nhập mã "
                              "mới trên ứng dụng."), 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/second_step.html", form=form, error=error), status


def _qr_data_uri(uri: str) -> str:
    svg = qr.secret_qr_svg(uri, _("Mã QR để thêm tài khoản vào ứng dụng xác thực"))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _show_recovery_codes(codes: list[str]) -> Any:
    # Rendered, never redirected, and not kept by any cache: shown this once only.
    response = make_response(render_template("auth/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account/second-factor", methods=["GET", "POST"])
@login_required
def second_factor() -> Any:
    """Turn on the second factor (QR code, first code, recovery codes), or renew the codes."""
    user: User = current_user._get_current_object()
    form = CodeForm()
    status = 400 if request.method == "POST" else 200
    if user.has_second_factor:
        if form.validate_on_submit():
            # Wrong codes here count like wrong sign-ins: a borrowed session cannot guess.
            locked_for = lock_for(db.session, user, request.remote_addr)
            if locked_for is not None:
                form.code.errors.append(_locked_message(locked_for))
            else:
                try:
                    codes = factors.regenerate_recovery_codes(db.session, user, form.code.data)
                except factors.SecondFactorError:
                    note_failure(db.session, user, request.remote_addr)
                    db.session.commit()
                    form.code.errors.append(_("Mã xác thực không đúng hoặc đã được dùng."))
                else:
                    db.session.commit()
                    return _show_recovery_codes(codes)
        return render_template(
            "auth/second_factor.html", form=form,
            unused=factors.unused_recovery_codes(db.session, user),
        ), status
    secret = factors.pending_secret(db.session, user)
    if form.validate_on_submit():
        try:
            codes = factors.confirm_enrolment(db.session, user, form.code.data)
        except factors.SecondFactorError:
            db.session.commit()
            form.code.errors.append(_("Mã xác thực không đúng. Hãy nhập mã đang hiện trên ứng "
                                      "dụng (mã đổi sau mỗi 30 giây)."))
        else:
            db.session.commit()
            flash(_("Đã bật xác thực hai bước."), "success")
            return _show_recovery_codes(codes)
    else:
        db.session.commit()  # keep the secret the QR code shows
    response = make_response(render_template(
        "auth/second_factor_enrol.html", form=form,
        qr_src=_qr_data_uri(factors.provisioning_uri(user, secret)),
        secret_groups=factors.grouped(secret),
        is_required=factors.is_required(user),
    ), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/logout")
def logout() -> Any:
    """Sign out."""
    if current_user.is_authenticated:
        audit.record(db.session, "logout")
    # Ended on the server: a copy of the cookie taken before now opens nothing.
    end_session(db.session, browser_session.pop(SESSION_SECRET_KEY, None))
    db.session.commit()
    logout_user()
    flash(_("Đã đăng xuất."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Change one's own password, which signs out every other session."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not check_password_hash(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("Mật khẩu hiện tại không đúng."))
        elif form.new_password.data == form.current_password.data:
            form.new_password.errors.append(_("Mật khẩu mới cần khác mật khẩu hiện tại."))
        else:
            user = current_user._get_current_object()
            try:
                set_password(db.session, user, form.new_password.data, actor=user)
            except AccountError as error:
                form.new_password.errors.append(password_message(error) or str(error))
            else:
                db.session.commit()
                login_user(user)  # this session continues under the new version
                flash(_("Đã đổi mật khẩu."), "success")
                return redirect(home_url())
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/password.html", form=form,
        password_hint=password_hint(min_length_for(current_user.role)),
        is_forced=current_user.must_change_password,
    ), status


def _reset_link_refused(error: ResetLinkError) -> Any:
    # Unknown, used or expired: a person holding a real link learns which; a guess learns
    # only that it opens nothing.
    status = 404 if error.reason == "unknown" else 410
    messages = {
        "unknown": _("Liên kết đặt lại mật khẩu không hợp lệ."),
        "used": _("Liên kết đặt lại mật khẩu này đã được dùng."),
        "expired": _("Liên kết đặt lại mật khẩu này đã hết hạn."),
    }
    return render_template("auth/reset_refused.html", message=messages[error.reason]), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    """Choose a new password through a one-time link an admin issued; then sign in."""
    try:
        reset = find_reset_link(db.session, token)
    except ResetLinkError as error:
        return _reset_link_refused(error)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            use_reset_link(db.session, token, form.new_password.data)
        except ResetLinkError as error:
            db.session.rollback()
            return _reset_link_refused(error)
        except AccountError as error:
            db.session.rollback()
            form.new_password.errors.append(password_message(error) or str(error))
        else:
            db.session.commit()
            flash(_("Đã đặt mật khẩu mới. Vui lòng đăng nhập bằng mật khẩu này."), "success")
            return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    response = make_response(render_template(
        "auth/reset.html", form=form, email=reset.user.email,
        password_hint=password_hint(min_length_for(reset.user.role)),
    ), status)
    response.headers["Cache-Control"] = "no-store"
    return response
