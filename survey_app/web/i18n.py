"""Language of the pages: Vietnamese unless the visitor chose English."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from flask import Flask, current_app, request, session
from flask_babel import format_datetime, get_locale, gettext

from survey_app.extensions import babel
from survey_app.questionnaire import LazyText


def select_locale() -> str:
    """Return the language chosen by ?lang= or remembered from an earlier choice."""
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang")
    if chosen and chosen in languages:
        return chosen
    remembered = session.get("lang")
    if remembered in languages:
        return str(remembered)
    # Vietnamese by default, whatever the phone's own language: the service is Vietnamese.
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def remember_language() -> None:
    """Keep a language chosen with ?lang= for the following pages."""
    chosen = request.args.get("lang")
    if chosen in current_app.config["LANGUAGES"] and session.get("lang") != chosen:
        session["lang"] = chosen


def language_url(language: str) -> str:
    """Return the current page's address (as a GET) in another language."""
    args = request.args.to_dict(flat=False)  # keeps repeated parameters (?code=A&code=B)
    args["lang"] = [language]
    return f"{request.path}?{urlencode(args, doseq=True)}"


def current_language() -> str:
    return str(get_locale() or "vi")[:2]


def local_datetime(value: datetime) -> str:
    """Format a timestamp as dd/mm/yyyy HH:MM in the deployment's time zone."""
    return format_datetime(value, "dd/MM/yyyy HH:mm")


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    LazyText.translate = staticmethod(gettext)
    app.before_request(remember_language)
    app.jinja_env.globals.update(language_url=language_url, current_language=current_language)
    app.jinja_env.filters["local_datetime"] = local_datetime
