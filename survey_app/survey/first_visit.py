"""A new phone's first reading of a form, served in front of Flask when the page is ready.

Most readings of a form are a phone scanning the counter's QR code for the first time: no
cookie, no query string, a code this worker read a few seconds ago, and a blank form it
rendered already (services/caches.py). Such a reading needs nothing of Flask's request
machinery: no session (the language is the default one, the form's CSRF token is bound to
a cookie of its own), no login, no rate limit (reads are not limited), no database. This
WSGI layer answers it directly: it fills the cached page's two token slots, sets the same
two cookies the survey pages set, and sends the headers Flask sent for the same kind of
reading, learnt from the first such reading it passed on (the security headers, HSTS in
production, `Vary`), so that both ways give the same response. It pushes no app context:
the settings, keys and caches it needs are read from the app itself, the tokens signed with
keys derived once, and the two cookies' headers written from their parts (the device
cookie's expiry made again each second).

Anything else goes to Flask: a cookie (a phone seen before, a language chosen, a staff
session), a query string, a code not read lately or not active, a code spelt otherwise
than it is stored, a page not cached yet, any method but GET.
"""

from __future__ import annotations

import re
import secrets
import time
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
        # The two cookies' headers around their values (made when the headers are learnt),
        # and the second the device cookie's one was made in (its expiry moves with time).
        self._form_cookie: tuple[str, str] = ("", "")
        self._device_cookie: tuple[int, str, str] = (-1, "", "")

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
        labels = recent_codes(self.app).fresh(code, self.app.config["FORM_CODE_CACHE_SECONDS"])
        if labels is None or not labels.is_active or labels.code != code:
            return None
        return labels

    def _template(self, code: str) -> tuple[CodeLabels, EncodedPage] | None:
        """Return the code's labels and its cached blank form in the default language."""
        labels = self._labels(code)
        if labels is None:
            return None
        language = str(self.app.config["BABEL_DEFAULT_LOCALE"])[:2]
        template = blank_forms(self.app).encoded(blank_form_key(labels, language, b""))
        return None if template is None else (labels, template)

    def _serve(self, code: str) -> tuple[list[tuple[str, str]], bytes] | None:
        """Return the headers and body of the form, or None when Flask must answer."""
        config = self.app.config
        found = self._template(code)
        if found is None:
            return None
        labels, template = found
        device = secrets.token_urlsafe(16)
        form_cookie = secrets.token_urlsafe(16)
        body = template.fill(
            csrf=form_csrf.token_for(form_cookie, f"/s/{code}", config["SECRET_KEY"]),
            submit=issue_submit_token(labels.code, device, config),
        )
        assert self.headers is not None
        before, after = self._form_cookie
        headers = [
            *self.headers,
            ("Content-Length", str(len(body))),
            ("Set-Cookie", before + form_cookie + after),
            ("Set-Cookie", self._device_cookie_header(devices.signed_device_id(device, config))),
        ]
        return headers, body

    def _device_cookie_header(self, value: str) -> str:
        """Return the device cookie's header for this value, as `dump_cookie` writes it."""
        now = int(time.time())
        made_at, before, after = self._device_cookie
        if made_at != now:
            before, after = _around_value(dump_cookie(
                devices.COOKIE_NAME, _VALUE, max_age=devices.COOKIE_MAX_AGE,
                path=devices.COOKIE_PATH, secure=self.app.config["SESSION_COOKIE_SECURE"],
                httponly=True, samesite="Lax",
            ))
            self._device_cookie = (now, before, after)
        return before + value + after

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
        if self._template(code) is not None:
            status, headers = sent[0]
            cookies = [value for name, value in headers if name.lower() == "set-cookie"]
            sets_both = {cookie.split("=", 1)[0] for cookie in cookies} == {
                form_csrf.COOKIE_NAME, devices.COOKIE_NAME
            }
            if sets_both:
                self._form_cookie = _around_value(dump_cookie(
                    form_csrf.COOKIE_NAME, _VALUE, path=form_csrf.COOKIE_PATH,
                    secure=self.app.config["SESSION_COOKIE_SECURE"], httponly=True,
                    samesite="Lax",
                ))
                self.headers = [
                    (name, value) for name, value in headers if name.lower() not in _OWN_HEADERS
                ]
        return answer


# A cookie value's stand-in: written as is by `dump_cookie`, as are the values it stands
# for (URL-safe base64 and dots, which need no quoting).
_VALUE = "VALUE"


def _around_value(header: str) -> tuple[str, str]:
    """Return a cookie header's text before and after its value."""
    name_and_value, rest = header.split(";", 1)
    name, value = name_and_value.split("=", 1)
    assert value == _VALUE
    return f"{name}=", f";{rest}"


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
