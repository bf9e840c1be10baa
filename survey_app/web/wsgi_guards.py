"""Refuse requests that no page could read, before any code tries to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequireUtf8QueryString:
    """Answer 400 to a query string that is not UTF-8.

    Werkzeug decodes the raw query string strictly, so one stray byte (a broken client or a
    scanner) would otherwise raise in the first code that reads `request.args`.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8")
        except UnicodeError:
            body = "Yêu cầu không hợp lệ. / Bad request.\n".encode()
            start_response("400 Bad Request", [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("X-Content-Type-Options", "nosniff"),
            ])
            return [body]
        return self.app(environ, start_response)
