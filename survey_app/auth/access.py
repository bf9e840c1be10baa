"""Who may see what: sign-in, roles, and the agencies within a user's scope.

- admin: everything;
- manager: one agency and every agency below it (a province sees its communes);
- staff: the counters and codes of one agency.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from flask import session as browser_session
from flask_login import LoginManager, current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app.auth.services import user_for_session
from survey_app.extensions import db
from survey_app.models import Agency, SurveyCode, User
from survey_app.text import clean_survey_code

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
# "basic": a phone moving between networks keeps its session; the cookie is what counts.
login_manager.session_protection = "basic"
login_manager.login_view = "auth.login"


# The signed session cookie's entry holding the secret of its server-side record.
SESSION_SECRET_KEY = "auth_session"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # The id carries the session version: a password or role change ends old sessions. The
    # session's own record ends this one at sign-out, and a "remember me" cookie, which
    # comes without a record, never opens one.
    ident, _, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    user = user_for_session(db.session, int(ident), browser_session.get(SESSION_SECRET_KEY))
    if user is None or user.session_version != int(version):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized() -> Any:
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let in signed-in users of these roles; others are sent to sign in or refused (403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def agency_with_descendants(session: Session, agency_id: int) -> set[int]:
    """Return the agency's id and the ids of every agency below it."""
    tree = select(Agency.id).where(Agency.id == agency_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Agency.id).where(Agency.parent_id == tree.c.id))
    return set(session.scalars(select(tree.c.id)))


def visible_agency_ids(session: Session, user: User) -> set[int] | None:
    """Return the ids of the agencies the user may read, or None for all of them."""
    if user.role == "admin":
        return None
    if user.agency_id is None:
        return set()
    if user.role == "manager":
        return agency_with_descendants(session, user.agency_id)
    return {user.agency_id}


def can_see_agency(session: Session, user: User, agency_id: int) -> bool:
    visible = visible_agency_ids(session, user)
    return visible is None or agency_id in visible


def agency_or_403(session: Session, user: User, agency_id: int) -> Agency:
    """Return the agency if it is within the user's scope; 404 if unknown, 403 if not."""
    agency = session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    if not can_see_agency(session, user, agency.id):
        abort(403)
    return agency


def survey_code_or_403(session: Session, user: User, code: str) -> SurveyCode:
    """Return the survey code if its agency is within the user's scope; 404/403 otherwise."""
    normalised = clean_survey_code(code)
    survey_code = None if normalised is None else session.scalar(
        select(SurveyCode).where(SurveyCode.code == normalised))
    if survey_code is None:
        abort(404)
    if not can_see_agency(session, user, survey_code.agency_id):
        abort(403)
    return survey_code


def can_manage_codes(session: Session, user: User, agency_id: int) -> bool:
    """Return whether the user may create, replace or revoke the agency's codes.

    Staff of the agency and admins may; managers read but do not change codes.
    """
    if user.role == "admin":
        return True
    return user.role == "staff" and user.agency_id == agency_id
