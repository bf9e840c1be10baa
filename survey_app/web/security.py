"""Security headers on every response."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request

# Scripts, styles and images only from this site; no inline script; nobody may frame us.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)


# The origins that may frame the pages marked `framable` (the public board), read once at
# start-up from BOARD_FRAME_ANCESTORS: a space-separated list of https://host[:port].
FRAME_ANCESTORS = "survey_app.frame_ancestors"
_HOST_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_ORIGIN = re.compile(rf"https://({_HOST_LABEL}(?:\.{_HOST_LABEL})*)(?::([0-9]{{1,5}}))?")

F = TypeVar("F", bound=Callable[..., Any])


def parse_frame_ancestors(setting: str | None) -> tuple[str, ...]:
    """Return the origins of the setting, or raise ValueError naming the first bad one.

    Only https://host[:port], nothing else: no path, no wildcard, no quote, no semicolon
    or comma that could end the directive and start another, no tab or line break.
    """
    if not setting:
        return ()
    if not setting.isascii() or any(not c.isprintable() for c in setting):
        raise ValueError("BOARD_FRAME_ANCESTORS may hold only printable ASCII characters")
    origins: list[str] = []
    for origin in setting.split(" "):
        if not origin:
            continue
        found = _ORIGIN.fullmatch(origin.lower())
        port = found.group(2) if found else None
        if found is None or len(found.group(1)) > 253 or (
            port is not None and not 0 < int(port) < 65536
        ):
            raise ValueError(
                f"BOARD_FRAME_ANCESTORS: {origin!r} is not an origin https://host[:port]"
            )
        if found.group(0) not in origins:
            origins.append(found.group(0))
    return tuple(origins)


def framable(view: F) -> F:
    """Let the configured origins frame this view's pages (and only these)."""
    view.is_framable = True  # type: ignore[attr-defined]
    return view


def _frame_ancestors() -> tuple[str, ...]:
    """Return the origins that may frame the current page; empty for most pages."""
    if request.endpoint is None:
        return ()
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "is_framable", False):
        return ()
    origins: tuple[str, ...] = current_app.extensions.get(FRAME_ANCESTORS, ())
    return origins


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    origins = _frame_ancestors()
    if origins:
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.replace(
            "frame-ancestors 'none'", "frame-ancestors " + " ".join(origins)))
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if not origins:
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # The survey address carries the code; it need not travel to other sites.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def add_hsts(response: Response) -> Response:
    response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    try:
        app.extensions[FRAME_ANCESTORS] = parse_frame_ancestors(
            app.config.get("BOARD_FRAME_ANCESTORS"))
    except ValueError as error:
        raise RuntimeError(str(error)) from None
    app.after_request(add_security_headers)
    if app.config["APP_ENV"] == "production":
        app.after_request(add_hsts)
