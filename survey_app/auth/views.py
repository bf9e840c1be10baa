"""Sign in, sign out, change one's own password, set a new one through a reset link."""

from __future__ import annotations

import math
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from survey_app.auth import bp
from survey_app.auth.forms import ChangePasswordForm, LoginForm, ResetPasswordForm
from survey_app.extensions import db
from survey_app.services import audit
from survey_app.services.accounts import (
    MIN_PASSWORD_LENGTH,
    ResetLinkError,
    authenticate,
    end_session,
    find_reset_link,
    set_password,
    start_session,
    use_reset_link,
)
from survey_app.web.access import SESSION_SECRET_KEY
from survey_app.web.redirects import safe_next_url


@bp.app_template_global()
def home_url() -> str:
    """Return where a person starts: managers the figures, staff their codes."""
    if not current_user.is_authenticated:
        return url_for("auth.login")
    if current_user.role in ("manager", "admin"):
        return url_for("dashboard.index")
    return url_for("manage.index")


# What opens while a password someone else chose is still to be replaced. Public pages and
# the API (which takes a token, not a session) are never held back.
_OPEN_BEFORE_OWN_PASSWORD = {"auth.change_password", "auth.logout", "auth.reset_password", "static"}
_PUBLIC_BLUEPRINTS = {"survey", "main", "api"}


@bp.before_app_request
def require_own_password() -> Any:
    """Send someone whose password an admin chose to the page that replaces it."""
    if (
        request.endpoint is None
        or request.endpoint in _OPEN_BEFORE_OWN_PASSWORD
        or request.blueprint in _PUBLIC_BLUEPRINTS
    ):
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


def _next_url() -> str:
    return safe_next_url(request.args.get("next"), home_url())


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
        if result.user is not None:
            browser_session[SESSION_SECRET_KEY] = start_session(
                db.session, result.user, replacing=browser_session.get(SESSION_SECRET_KEY)
            )
            login_user(result.user)
            db.session.commit()
            return redirect(_next_url())
        db.session.commit()  # keep the failure: it counts towards the lock
        if result.locked_for is not None:
            minutes = max(1, math.ceil(result.locked_for.total_seconds() / 60))
            error = ngettext(
                "Đăng nhập tạm thời bị khóa vì nhập sai nhiều lần. "
                "Vui lòng thử lại sau %(num)d phút.",
                "Đăng nhập tạm thời bị khóa vì nhập sai nhiều lần. "
                "Vui lòng thử lại sau %(num)d phút.",
                minutes,
            )
            status = 429
        else:
            # The same words whether the email exists or not.
            error = _("Email hoặc mật khẩu không đúng.")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


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
            set_password(db.session, user, form.new_password.data, actor=user)
            db.session.commit()
            login_user(user)  # this session continues under the new version
            flash(_("Đã đổi mật khẩu."), "success")
            return redirect(home_url())
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/password.html", form=form, min_length=MIN_PASSWORD_LENGTH,
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
        db.session.commit()
        flash(_("Đã đặt mật khẩu mới. Vui lòng đăng nhập bằng mật khẩu này."), "success")
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    response = make_response(render_template(
        "auth/reset.html", form=form, email=reset.user.email, min_length=MIN_PASSWORD_LENGTH,
    ), status)
    response.headers["Cache-Control"] = "no-store"
    return response
