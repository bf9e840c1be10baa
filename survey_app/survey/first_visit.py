"""A new phone's first reading of a form, served in front of Flask when the page is ready.

Most readings of a form are a phone scanning the counter's QR code for the first time: no
cookie, no query string, a code this worker read a few seconds ago, and a blank form it
rendered already (services/caches.py). Such a reading needs nothing of Flask's request
machinery: no session (the language is the default one, the form's CSRF token is bound to
a cookie of its own), no login, no rate limit (reads are not limited), no database. This
WSGI layer answers it directly: it fills the cached page's two token slots, sets the same
two cookies the survey pages set, and sends the headers Flask sent for the same kind of
reading, learnt from the first such reading it passed on (the security headers, HSTS in
production, `Vary`), so that both ways give the same response.

Anything else goes to Flask: a cookie (a phone seen before, a language chosen, a staff
session), a query string, a code not read lately or not active, a code spelt otherwise
than it is stored, a page not cached yet, any method but GET.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.http import dump_cookie

from survey_app.services import devices
from survey_app.services.caches import EncodedPage
from survey_app.services.recording import CodeLabels, issue_submit_token, recent_codes
from survey_app.survey import form_csrf
from survey_app.survey.views import blank_form_key, blank_forms

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_FORM_PATH = re.compile(r"/s/([^/]+)")
# Headers that belong to one response, not to the page: made afresh each time.
_OWN_HEADERS = frozenset(("content-length", "set-cookie"))


class FirstVisitForms:
    """WSGI layer that serves a new phone's reading of a cached blank form."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        # The headers of a blank form sent to a new phone, as Flask sent them.
        self.headers: list[tuple[str, str]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        code = _first_visit_code(environ)
        if code is None:
            return self.wsgi_app(environ, start_response)
        if self.headers is not None:
            served = self._serve(code)
            if served is not None:
                headers, body = served
                start_response("200 OK", headers)
                return [body]
            return self.wsgi_app(environ, start_response)
        return self._learn_headers(code, environ, start_response)

    def _labels(self, code: str) -> CodeLabels | None:
        """Return the code's labels if this worker read them lately and its form is open."""
        labels = recent_codes().fresh(code, self.app.config["FORM_CODE_CACHE_SECONDS"])
        if labels is None or not labels.is_active or labels.code != code:
            return None
        return labels

    def _template(self, code: str) -> tuple[CodeLabels, EncodedPage] | None:
        """Return the code's labels and its cached blank form in the default language."""
        labels = self._labels(code)
        if labels is None:
            return None
        language = str(self.app.config["BABEL_DEFAULT_LOCALE"])[:2]
        template = blank_forms().encoded(blank_form_key(labels, language, b""))
        return None if template is None else (labels, template)

    def _serve(self, code: str) -> tuple[list[tuple[str, str]], bytes] | None:
        """Return the headers and body of the form, or None when Flask must answer."""
        config = self.app.config
        with self.app.app_context():
            found = self._template(code)
            if found is None:
                return None
            labels, template = found
            device = secrets.token_urlsafe(16)
            form_cookie = secrets.token_urlsafe(16)
            body = template.fill(
                csrf=form_csrf.token_for(form_cookie, f"/s/{code}"),
                submit=issue_submit_token(labels.code, device),
            )
            device_cookie = devices.signed_device_id(device)
        secure = config["SESSION_COOKIE_SECURE"]
        assert self.headers is not None
        headers = [
            *self.headers,
            ("Content-Length", str(len(body))),
            ("Set-Cookie", dump_cookie(
                form_csrf.COOKIE_NAME, form_cookie, path=form_csrf.COOKIE_PATH,
                secure=secure, httponly=True, samesite="Lax",
            )),
            ("Set-Cookie", dump_cookie(
                devices.COOKIE_NAME, device_cookie, max_age=devices.COOKIE_MAX_AGE,
                path=devices.COOKIE_PATH, secure=secure, httponly=True, samesite="Lax",
            )),
        ]
        return headers, body

    def _learn_headers(
        self, code: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Any:
        """Pass the reading on to Flask, and keep its headers if it was a cached blank form."""
        sent: list[tuple[str, list[tuple[str, str]]]] = []

        def keep(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            sent.append((status, list(headers)))
            return start_response(status, headers, *args)

        answer = self.wsgi_app(environ, keep)
        if not sent or not sent[0][0].startswith("200 "):
            return answer
        with self.app.app_context():
            is_cached = self._template(code) is not None
        if is_cached:
            status, headers = sent[0]
            cookies = [value for name, value in headers if name.lower() == "set-cookie"]
            sets_both = {cookie.split("=", 1)[0] for cookie in cookies} == {
                form_csrf.COOKIE_NAME, devices.COOKIE_NAME
            }
            if sets_both:
                self.headers = [
                    (name, value) for name, value in headers if name.lower() not in _OWN_HEADERS
                ]
        return answer


def _first_visit_code(environ: dict[str, Any]) -> str | None:
    """Return the code of a GET /s/<code> without cookie nor query string, else None."""
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
        return None
    if environ.get("HTTP_COOKIE"):
        return None
    found = _FORM_PATH.fullmatch(environ.get("PATH_INFO", ""))
    return found.group(1) if found else None


def install(app: Flask) -> None:
    """Put the layer in front of the app (outermost: it reads nothing the others set)."""
    app.wsgi_app = FirstVisitForms(app, app.wsgi_app)  # type: ignore[method-assign]
