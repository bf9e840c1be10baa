"""Printable posters, sheets and table tents of survey codes.

Each page is a standalone document styled by static/print.css alone: no navigation, sizes
in millimetres, one printed sheet per `.sheet` element.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, render_template, request
from flask_login import current_user

from survey_app.counters import bp
from survey_app.extensions import db
from survey_app.models import Agency, Counter, SurveyCode
from survey_app.services.codes import survey_url, survey_url_root
from survey_app.services.counters import active_codes, codes_by_text
from survey_app.text import clean_survey_code
from survey_app.web.access import agency_or_403, permission_required, survey_code_or_403

# Cards per A4 sheet: two columns by three rows (print.css sizes the cards to match).
CARDS_PER_SHEET = 6
# Ids are 32-bit integers on PostgreSQL; a larger number names no counter (and must not
# reach the database, which would fail on it).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class SheetSelection:
    """The codes to print on a sheet, and how many of those asked for were left out."""

    codes: list[SurveyCode]
    revoked: int = 0
    unknown: int = 0


def _printable_code(code: str) -> SurveyCode:
    """Return a code within the user's scope that may still be printed; 410 once revoked."""
    normalised = clean_survey_code(code) or abort(404)
    survey_code = survey_code_or_403(db.session, current_user, normalised, "codes.print")
    if not survey_code.is_active:
        abort(410)
    return survey_code


def _counter_of(agency: Agency, counter_arg: str | None) -> Counter | None:
    """Return the counter named by ?counter=, which must belong to the agency (404 if not)."""
    if counter_arg is None:
        return None
    counter_id = int(counter_arg) if counter_arg.isascii() and counter_arg.isdigit() else 0
    counter = db.session.get(Counter, counter_id) if 0 < counter_id <= MAX_ID else None
    if counter is None or counter.agency_id != agency.id:
        abort(404)
    return counter


def _sheet_selection(agency: Agency, counter: Counter | None, texts: list[str]) -> SheetSelection:
    """Return the agency's active codes, or those of the explicit selection that may print."""
    counter_id = counter.id if counter is not None else None
    if not texts:
        return SheetSelection(active_codes(db.session, {agency.id}, counter_id))
    chosen = codes_by_text(db.session, texts)
    own = [
        code
        for code in chosen
        if code.agency_id == agency.id and counter_id in (None, code.counter_id)
    ]
    active = [code for code in own if code.is_active]
    # Unknown codes and other agencies' codes count alike: the notice reveals neither.
    asked = len(dict.fromkeys(clean_survey_code(t) or t for t in texts))
    return SheetSelection(active, revoked=len(own) - len(active), unknown=asked - len(own))


@bp.get("/codes/<code>/poster")
@permission_required("codes.print")
def poster(code: str) -> str:
    """Show an A4 poster of one code: a large QR, where it belongs, and how to type it."""
    survey_code = _printable_code(code)
    return render_template(
        "counters/print_poster.html",
        code=survey_code,
        url=survey_url(survey_code.code),
        site=survey_url_root(),
    )


@bp.get("/agencies/<int:agency_id>/codes/sheet")
@permission_required("codes.print")
def sheet(agency_id: int) -> str:
    """Show A4 sheets of cut-out cards, one per active code of an agency or a counter."""
    agency = agency_or_403(db.session, current_user, agency_id, "codes.print")
    counter = _counter_of(agency, request.args.get("counter"))
    texts = [text for text in request.args.getlist("code") if text.strip()]
    selection = _sheet_selection(agency, counter, texts)
    return render_template(
        "counters/print_sheet.html",
        agency=agency,
        counter=counter,
        selection=selection,
        is_explicit=bool(texts),
        per_sheet=CARDS_PER_SHEET,
        site=survey_url_root(),
        survey_url=survey_url,
    )


@bp.get("/codes/<code>/tent")
@permission_required("codes.print")
def tent(code: str) -> str:
    """Show a table tent: an A5 sheet folded into two A6 faces, one for each side of a desk."""
    survey_code = _printable_code(code)
    return render_template(
        "counters/print_tent.html",
        code=survey_code,
        url=survey_url(survey_code.code),
        site=survey_url_root(),
    )
