"""The public board (no sign-in, framable by the configured portals) and its publishing page.

The public pages are cached: each worker keeps the rendered page by agency, quarter,
language, address and the data version (services/board.py), and answers a repeated visit
with 304 when the version has not moved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from survey_app.board import bp
from survey_app.board.display import board_page, quarter_label, quarter_span
from survey_app.extensions import db, reads_from_replica
from survey_app.models import Agency
from survey_app.services import board, seals
from survey_app.services.caches import Rendered
from survey_app.services.dashboard import local_today
from survey_app.services.directory import list_agencies
from survey_app.web.access import permission_required
from survey_app.web.i18n import current_language
from survey_app.web.security import framable

PAGES = "survey_app.board_pages"
# A portal's visitors may see figures a few minutes old; a new response or a change made
# by an admin shows once this has passed (the ETag tells a browser at once on revalidating).
MAX_AGE = 300


def pages() -> Rendered:
    cache: Rendered = current_app.extensions.setdefault(PAGES, Rendered())
    return cache


def _cached(key: tuple[Hashable, ...], render: Callable[[], str],
            version: Hashable) -> Response:
    """Answer with the page for `key` at a data version: 304, kept, or rendered."""
    full_key = (*key, current_language(), request.query_string, version)
    etag = hashlib.sha256(repr(full_key).encode()).hexdigest()[:32]
    if etag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(pages().page(full_key, render))
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response


def _tidied(allowed: tuple[str, ...]) -> Response | None:
    """Send an address with other or repeated parameters to the one without them.

    Every page is kept by its address: stray parameters (a portal's tracking tags, say)
    would otherwise each keep a copy of the same page, or push the others out.
    """
    args = request.args
    if all(name in allowed and len(args.getlist(name)) == 1 for name in args):
        return None
    values: dict[str, Any] = dict(request.view_args or {})
    values.update((name, args[name]) for name in allowed if name in args)
    return redirect(url_for(request.endpoint or "board.index", **values), 301)


@bp.after_request
def never_share_a_cookie(response: Response) -> Response:
    """Keep a page that sets a cookie (a language chosen) out of shared caches."""
    if session.modified:
        response.headers["Cache-Control"] = "private, no-cache"
    return response


def _missing(title: str, advice: str) -> tuple[str, int, dict[str, str]]:
    page = render_template("board/missing.html", title=title, advice=advice)
    return page, 404, {"Cache-Control": "no-cache"}


@bp.get("/cong-khai/")
@bp.get("/cong-khai")
@framable
@reads_from_replica
def index() -> Response:
    """List the agencies whose figures are published."""
    if (tidied := _tidied(("lang",))) is not None:
        return tidied

    def render() -> str:
        agencies = board.published_agencies(db.session)
        with_below = board.agencies_with_agencies_below(db.session)
        return render_template("board/index.html", agencies=agencies, with_below=with_below,
                               latest_seal=seals.latest_seal(db.session))

    # Only publishing or renaming changes the list, and both are audit-logged.
    return _cached(("index",), render, board.last_audit_event(db.session))


@bp.get("/cong-khai/<code>")
@framable
@reads_from_replica
def agency(code: str) -> Response | tuple[str, int, dict[str, str]]:
    """Show a published agency's O and S for one quarter, as a whole and by sector."""
    if (tidied := _tidied(("quy", "lang"))) is not None:
        return tidied
    found = board.published_agency(db.session, code)
    if found is None:
        return _missing(
            _("Không có bảng công khai của đơn vị này"),
            _("Đơn vị này chưa công khai số liệu, hoặc địa chỉ chưa đúng. "
              "Vui lòng chọn đơn vị trong danh sách các đơn vị đã công khai."),
        )
    today = local_today()
    quarter = board.parse_quarter(request.args.get("quy"), today)
    if quarter is None:
        return _missing(
            _("Không có số liệu của quý này"),
            _("Quý cần xem phải ghi theo dạng 2026-Q3 và không được sau quý hiện tại. "
              "Vui lòng chọn một quý trong danh sách của đơn vị."),
        )
    agency_id = found.id

    def render() -> str:
        shown = db.session.get(Agency, agency_id)
        assert shown is not None
        figures = board.board_figures(db.session, shown, quarter)
        return render_template(
            "board/agency.html",
            page=board_page(figures, current_language()),
            quarter_label=quarter_label, quarter_span=quarter_span,
            quarters=board.quarters_offered(today), running=board.Quarter.of(today),
            latest_seal=seals.latest_seal(db.session),
        )

    # The running quarter names the list of quarters and marks the figures still moving.
    return _cached(("agency", agency_id, quarter.key, board.Quarter.of(today).key), render,
                   board.data_version(db.session, quarter, today))


# Publishing (admins) -----------------------------------------------------------------------


@bp.get("/admin/board")
@permission_required("board.publish")
def manage() -> str:
    """List every agency with whether its figures are on the public board."""
    return render_template(
        "board/manage.html", agencies=list_agencies(db.session),
        publications=board.publications(db.session),
    )


@bp.post("/admin/board/<int:agency_id>")
@permission_required("board.publish")
def toggle(agency_id: int) -> Response:
    """Publish or unpublish one agency's figures."""
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    wanted = request.form.get("publish")
    if wanted == "1":
        if board.publish(db.session, agency, current_user):
            flash(_("Đã công khai số liệu của %(name)s.", name=agency.name), "success")
    elif wanted == "0":
        if board.unpublish(db.session, agency, current_user):
            flash(_("Đã thôi công khai số liệu của %(name)s.", name=agency.name), "success")
    else:
        abort(400)
    db.session.commit()
    return redirect(url_for("board.manage"), 303)
