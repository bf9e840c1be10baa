"""The door of every staff page: who is signed in, and whether the permission table
(services/access.py) lets them in. A page names its permission, never a list of roles."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, g, redirect, request, url_for
from flask import session as browser_session
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.extensions import db
from survey_app.models import Agency, SurveyCode, User
from survey_app.services import audit
from survey_app.services.access import PERMISSIONS, can, holds
from survey_app.services.accounts import user_for_session
from survey_app.text import clean_survey_code

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
# "basic": a phone moving between networks keeps its session; the cookie is what counts.
login_manager.session_protection = "basic"
login_manager.login_view = "auth.login"


# The signed session cookie's entry holding the secret of its server-side record.
SESSION_SECRET_KEY = "auth_session"
# With a read replica: after a signed-in person's own change, their pages read the primary
# for this many seconds, so that they see it at once (docs/deployment.md, 11). The cookie's
# entry holds until when.
OWN_CHANGE_KEY = "own_change_until"
OWN_CHANGE_SECONDS = 10


def init_app(app: Flask) -> None:
    """Bind sign-in to the app, and let templates ask the permission table."""
    login_manager.init_app(app)
    app.jinja_env.globals["can"] = can
    app.extensions[audit.ACTOR_PROVIDER] = signed_in_user
    app.before_request(_check_staff_session)
    if db.replica_for(app) is not None:
        app.before_request(_read_own_changes)
        app.after_request(_remember_own_change)


def _read_own_changes() -> None:
    # Only a browser with a cookie may have changed something: the others' pages (the
    # public board's visitors) never open their session, so it never varies on a cookie.
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return
    g.signed_in_at_start = bool(browser_session.get(SESSION_SECRET_KEY))
    if browser_session.get(OWN_CHANGE_KEY, 0) > time.time():
        db.read_primary_only()


def _remember_own_change(response: Any) -> Any:
    # A change sent by someone signed in before and after it (not a sign-in or sign-out).
    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and g.get("signed_in_at_start")
        and db.committed_a_write()
        and browser_session.get(SESSION_SECRET_KEY)
    ):
        browser_session[OWN_CHANGE_KEY] = time.time() + OWN_CHANGE_SECONDS
    return response


# Pages that never ask who is signed in: their requests leave a staff session as it is.
_SESSIONLESS_BLUEPRINTS = {"api", "survey", "board", "seals"}


def _check_staff_session() -> None:
    # Before any view writes: the session's last activity, or its end, is committed alone.
    # A browser without a cookie has no session, and its page never opens one.
    if (
        current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
        or request.blueprint in _SESSIONLESS_BLUEPRINTS
        or request.endpoint == "static"
    ):
        return
    if current_user.is_authenticated and g.pop("session_touched", False):
        db.session.commit()
    elif g.get("session_expired"):
        browser_session.pop(SESSION_SECRET_KEY, None)
        db.session.commit()


def signed_in_user() -> User | None:
    """Return the user signed in to this request, or None."""
    if not current_user.is_authenticated:
        return None
    user: User = current_user._get_current_object()
    return user


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # The id carries the session version: a password or role change ends old sessions. The
    # session's own record ends this one at sign-out, and a "remember me" cookie, which
    # comes without a record, never opens one.
    ident, _, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    # From the primary, even on a page that reads a replica: a sign-out counts at once.
    with db.reading_primary() as session:
        found = user_for_session(session, int(ident), browser_session.get(SESSION_SECRET_KEY))
    if found.expired is not None:
        g.session_expired = found.expired
    user = found.user
    if user is None or user.session_version != int(version):
        return None
    g.session_touched = found.touched
    return user


@login_manager.unauthorized_handler
def unauthorized() -> Any:
    if g.get("session_expired"):
        flash(_("Phiên đăng nhập đã hết hạn vì lâu không dùng hoặc đã quá thời gian cho phép. "
                "Vui lòng đăng nhập lại để tiếp tục."), "error")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def permission_required(action: str) -> Callable[[F], F]:
    """Let in signed-in users whose role holds `action`; others sign in or are refused (403).

    Where the permission reaches only some agencies, the view checks the agency it acts on
    with `agency_or_403` or `can`.
    """
    PERMISSIONS[action]  # a misspelt permission fails at import, not at the first request

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not holds(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = action  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def agency_or_403(session: Session, user: User, agency_id: int, action: str) -> Agency:
    """Return the agency if the user may do `action` there; 404 if unknown, 403 if not."""
    agency = session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    if not can(user, action, agency):
        abort(403)
    return agency


def survey_code_or_403(session: Session, user: User, code: str, action: str) -> SurveyCode:
    """Return the counter's code if the user may do `action` at its agency; 404/403 otherwise.

    The hidden codes of receipt answers are not found: nobody prints or revokes them.
    """
    normalised = clean_survey_code(code)
    survey_code = None if normalised is None else session.scalar(
        select(SurveyCode).where(SurveyCode.code == normalised, SurveyCode.kind == "counter"))
    if survey_code is None:
        abort(404)
    if not can(user, action, survey_code.agency):
        abort(403)
    return survey_code
