"""`/cong-khai/niem-phong`: the latest seal, the sealed days with their digests and
corrections, and the JSON anyone can recompute them from (docs/seals.md). Public, GET only."""

from __future__ import annotations

from datetime import date

from flask import jsonify, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from survey_app.extensions import db, reads_from_replica
from survey_app.seals import bp
from survey_app.services import seals

DAYS_PER_PAGE = 31
# Public and the same for everybody; a few minutes old is fine, a seal is never rewritten.
CACHE = "public, max-age=300"


def _day(value: str | None) -> date | None:
    """Return a YYYY-MM-DD date, or None when it is not one."""
    if not value or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@bp.get("/cong-khai/niem-phong")
@reads_from_replica
def index() -> tuple[str, int] | str:
    """The latest seal and the sealed days, newest first, a month of days per page."""
    raw = request.args.get("truoc") or None
    before = _day(raw)
    if raw is not None and before is None:
        message = _("Ngày trong địa chỉ chưa đúng. Vui lòng viết theo dạng năm-tháng-ngày, "
                    "ví dụ 2025-03-04.")
        return render_template("seals/index.html", latest=None, days=[], older=None,
                               error=message), 400
    days, older = seals.recent_days(db.session, before, DAYS_PER_PAGE)
    return render_template(
        "seals/index.html", latest=seals.latest_seal(db.session), days=days, older=older,
        error=None, before=before,
    )


def _json(body: object, status: int = 200) -> tuple[Response, int]:
    response = jsonify(body)
    response.headers["Cache-Control"] = CACHE if status == 200 else "no-store"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response, status


@bp.get("/cong-khai/niem-phong.json")
@reads_from_replica
def chain_json() -> tuple[Response, int]:
    """Every seal, oldest first: enough to check every link of the chain."""
    chain = [seals.seal_summary(seal) for seal in seals.chain(db.session)]
    return _json({
        "version": seals.VERSION,
        "genesis": seals.GENESIS,
        "seals": chain,
        "day_url": url_for("seals.day_json", day="YYYY-MM-DD", _external=True),
    })


@bp.get("/cong-khai/niem-phong/<day>.json")
@reads_from_replica
def day_json(day: str) -> tuple[Response, int]:
    """One day's seals with their leaves, and the totals of the agencies shown in clear."""
    parsed = _day(day)
    if parsed is None:
        return _json({"error": "invalid_day",
                      "message": _("Ngày trong địa chỉ chưa đúng. Vui lòng viết theo dạng "
                                   "năm-tháng-ngày, ví dụ 2025-03-04.")}, 404)
    body = seals.public_day(db.session, parsed, seals.publishable_agencies(db.session))
    if body is None:
        return _json({"error": "not_sealed",
                      "message": _("Ngày này chưa được niêm phong.")}, 404)
    return _json(body)
