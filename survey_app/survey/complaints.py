"""The thank-you page after q7 «Có»: where a formal complaint can be lodged.

An answer on the form cannot be followed up, so the page names the agency's hotline (or the
nearest one above it) and the national public service portal. The redirect after the form
asks for it with a short-lived cookie scoped to the thank-you page, never in the address:
an address lands in the browser's history and the proxy's access log beside the citizen's
IP address, and would tell anyone reading them who reported harassment. Every thank-you
redirect sets or clears the cookie, so the next person on a shared tablet never sees a
box meant for the one before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, make_response, redirect, request
from werkzeug.wrappers import Response

from survey_app.extensions import db
from survey_app.questionnaire import INTEGRITY_KEY, INTEGRITY_YES
from survey_app.services.directory import Hotline, complaint_hotline

COMPLAINT_COOKIE = "sid_pa"
# Long enough to read the page and reload it, short enough to be gone with the visit.
COMPLAINT_SECONDS = 600


def thanks_redirect(thanks: str, answers: Mapping[str, Any]) -> Response:
    """Return the 303 to the thank-you page, asking for the complaint box after q7 «Có».

    `answers` is the form's `data`.
    """
    response = redirect(thanks, code=303)
    path = urlsplit(thanks).path
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    if answers.get(INTEGRITY_KEY) == INTEGRITY_YES:
        response.set_cookie(COMPLAINT_COOKIE, "1", max_age=COMPLAINT_SECONDS, path=path,
                            secure=secure, httponly=True, samesite="Lax")
    else:  # the form's post does not carry a cookie of the thank-you page: clear it always
        response.delete_cookie(COMPLAINT_COOKIE, path=path, secure=secure, httponly=True,
                               samesite="Lax")
    return response


def complaint(agency_id: int) -> tuple[bool, Hotline | None]:
    """Return whether this thank-you page says where to complain, and the hotline it names."""
    if request.cookies.get(COMPLAINT_COOKIE) != "1":
        return False, None
    return True, complaint_hotline(db.session, agency_id)


def thanks_response(page: str) -> Response:
    """Return a thank-you page, kept by no cache: whether it names a hotline is the cookie's."""
    response = make_response(page, 200)
    response.headers["Cache-Control"] = "private, no-store"
    return response
