"""Sign in, sign out, change one's own password."""

from __future__ import annotations

import math
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from survey_app import audit
from survey_app.auth import bp
from survey_app.auth.access import SESSION_SECRET_KEY
from survey_app.auth.forms import ChangePasswordForm, LoginForm
from survey_app.auth.redirects import safe_next_url
from survey_app.auth.services import (
    MIN_PASSWORD_LENGTH,
    authenticate,
    end_session,
    set_password,
    start_session,
)
from survey_app.extensions import db


@bp.app_template_global()
def home_url() -> str:
    """Return where a person starts: managers the figures, staff their codes."""
    if not current_user.is_authenticated:
        return url_for("auth.login")
    if current_user.role in ("manager", "admin"):
        return url_for("dashboard.index")
    return url_for("manage.index")


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
        else:
            user = current_user._get_current_object()
            set_password(db.session, user, form.new_password.data, actor=user)
            db.session.commit()
            login_user(user)  # this session continues under the new version
            flash(_("Đã đổi mật khẩu."), "success")
            return redirect(home_url())
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/password.html", form=form, min_length=MIN_PASSWORD_LENGTH
    ), status
