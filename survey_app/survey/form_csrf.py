"""The citizen's form guards against cross-site posts without a server session.

A staff page keeps its CSRF token in Flask's signed session. The citizen's form does not:
opening and signing a session for every new phone cost more than anything else on the
form's first reading (docs/performance.md). Instead, a signed double-submit token:

- the phone gets a cookie of its own, `sid_form`: 128 random bits, HttpOnly, SameSite=Lax,
  Secure in production, sent back only to the survey pages (/s, or /r for receipt links);
- the form carries `issued.mac` in its `csrf_token` field, where mac is an HMAC-SHA256,
  under a key derived from SECRET_KEY, of the cookie's value, the time the token was
  issued and the address of the form (the page that posts it);
- a post counts only when its token's mac matches its own cookie, its own address, and
  the token is at most WTF_CSRF_TIME_LIMIT seconds old.

Why this is as strong as the session's token is told in docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from functools import lru_cache
from typing import Any

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError

COOKIE_NAME = "sid_form"
COOKIE_PATH = "/s"
RECEIPT_COOKIE_PATH = "/r"
# 16 random bytes in URL-safe base64, nothing else: a cookie of another shape is ignored.
_COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")
_TOKEN_SHAPE = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{32})")
# Tokens of another host behind the same nginx may be a little ahead of this one's clock.
CLOCK_SKEW = 60


@lru_cache(maxsize=8)
def _key(secret_key: str | bytes) -> bytes:
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hashlib.sha256(b"survey-form-csrf\x00" + secret).digest()


def _mac(cookie: str, issued: int, path: str, secret_key: str | bytes | None = None) -> str:
    message = f"{cookie}\x00{issued}\x00{path}".encode()
    secret = current_app.config["SECRET_KEY"] if secret_key is None else secret_key
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def _sent_cookie() -> str | None:
    value = request.cookies.get(COOKIE_NAME, "")
    return value if _COOKIE_SHAPE.fullmatch(value) else None


def _cookie() -> str:
    """Return this phone's form cookie; a phone without one is given one with this page."""
    sent = _sent_cookie()
    if sent is not None:
        return sent
    if "_new_form_cookie" not in g:
        g._new_form_cookie = secrets.token_urlsafe(16)
    new: str = g._new_form_cookie
    return new


def issue_token() -> str:
    """Return a CSRF token for the form at this request's address."""
    return token_for(_cookie(), request.path)


def token_for(cookie: str, path: str, secret_key: str | bytes | None = None) -> str:
    """Return a CSRF token bound to a form cookie's value and a form's address.

    `secret_key` is the app's SECRET_KEY, for a caller outside an app context.
    """
    issued = int(time.time())
    return f"{issued}.{_mac(cookie, issued, path, secret_key)}"


def is_valid_token(token: object) -> bool:
    """Return whether a posted token was issued to this phone's cookie, for this address,
    at most WTF_CSRF_TIME_LIMIT seconds ago."""
    cookie = _sent_cookie()
    if cookie is None or not isinstance(token, str):
        return False
    found = _TOKEN_SHAPE.fullmatch(token)
    if found is None:
        return False
    issued = int(found.group(1))
    age = time.time() - issued
    if age > current_app.config["WTF_CSRF_TIME_LIMIT"] or age < -CLOCK_SKEW:
        return False
    return hmac.compare_digest(found.group(2), _mac(cookie, issued, request.path))


def remember_form_cookie(response: Response) -> Response:
    """Set the form cookie of a phone that was given one during this request."""
    new = g.get("_new_form_cookie")
    if new is not None:
        response.set_cookie(
            COOKIE_NAME,
            new,
            path=RECEIPT_COOKIE_PATH if request.path.startswith("/r/") else COOKIE_PATH,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    return response


class FormCookieCSRF(CSRF):
    """The wtforms CSRF of the citizen's form: the token above, no session."""

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return issue_token()

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        if not is_valid_token(field.data):
            raise ValidationError(str(_l(
                "Trang đã mở quá lâu nên phiếu chưa gửi được. Các câu trả lời vẫn còn; "
                "vui lòng bấm «Gửi đánh giá» lần nữa."
            )))
