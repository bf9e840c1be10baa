"""Bearer-token authentication for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, jsonify, request

from survey_app.extensions import db
from survey_app.models import User
from survey_app.services.access import holds
from survey_app.services.accounts import find_token, user_for_token

F = TypeVar("F", bound=Callable[..., Any])


def api_error(status: int, message: str, **details: Any) -> Any:
    response = jsonify(error={"status": status, "message": message, **details})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="survey_app"'
    return response


def token_required(view: F) -> F:
    """Let in requests carrying an active token of an enabled manager or admin."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return api_error(401, "missing bearer token: send 'Authorization: Bearer <token>'")
        user = user_for_token(db.session, secret.strip())
        if user is None:
            token = find_token(db.session, secret.strip())
            if token is not None and token.revoked_at is None and token.is_expired():
                return api_error(
                    401, f"the token expired on {token.expires_at.date().isoformat()} (UTC); "
                    "ask for a new one",
                )
        if user is None or not holds(user, "api.read"):
            return api_error(401, "the token is unknown, revoked, or its owner is disabled")
        db.session.commit()  # keeps last_used_at
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def api_user() -> User:
    user: User = g.api_user
    return user
