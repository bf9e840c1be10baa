"""The thank-you page after q7 «Có»: where a formal complaint can be lodged.

An answer on the form cannot be followed up, so the page names the agency's hotline (or the
nearest one above it) and the national public service portal. The form's redirect asks for
it with a query argument; the answers themselves are never put in an address.
"""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm

from survey_app.extensions import db
from survey_app.questionnaire import INTEGRITY_KEY, INTEGRITY_YES
from survey_app.services.directory import Hotline, complaint_hotline

COMPLAINT_ARG = "phan-anh"


def thanks_address(thanks: str, form: FlaskForm) -> str:
    """Return the thank-you page's address, asking for the complaint box after q7 «Có»."""
    answered_yes = form[INTEGRITY_KEY].data == INTEGRITY_YES
    return f"{thanks}?{COMPLAINT_ARG}=1" if answered_yes else thanks


def complaint(agency_id: int) -> tuple[bool, Hotline | None]:
    """Return whether this thank-you page says where to complain, and the hotline it names."""
    if request.args.get(COMPLAINT_ARG) != "1":
        return False, None
    return True, complaint_hotline(db.session, agency_id)
