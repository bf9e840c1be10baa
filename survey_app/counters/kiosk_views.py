"""Staff pages: pair a kiosk tablet with a counter's code, list its kiosks, revoke one."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from survey_app.counters import bp
from survey_app.extensions import db
from survey_app.models import Kiosk, SurveyCode
from survey_app.services import kiosks
from survey_app.text import clean_survey_code
from survey_app.web.access import permission_required, survey_code_or_403


def _code(code: str, action: str) -> SurveyCode:
    normalised = clean_survey_code(code) or abort(404)
    return survey_code_or_403(db.session, current_user, normalised, action)


def _page(survey_code: SurveyCode, pairing_code: str | None = None) -> str:
    return render_template(
        "counters/kiosks.html",
        survey_code=survey_code,
        kiosks=kiosks.kiosks_of(db.session, survey_code),
        live=kiosks.live_pairing(db.session, survey_code),
        pairing_code=pairing_code,
    )


@bp.get("/codes/<code>/kiosks", endpoint="kiosks")
@permission_required("kiosk.pair")
def kiosks_page(code: str) -> str:
    """List the kiosks of a counter's code, with the button that shows a pairing code."""
    return _page(_code(code, "kiosk.pair"))


@bp.post("/codes/<code>/kiosks/pair")
@permission_required("kiosk.pair")
def kiosk_pairing(code: str) -> tuple[str, int] | str:
    """Show a new pairing code, once: the tablet types it on /kiosk within minutes."""
    survey_code = _code(code, "kiosk.pair")
    if not survey_code.is_active:
        abort(410)
    _pairing, clear = kiosks.start_pairing(db.session, survey_code, current_user)
    db.session.commit()
    page = _page(survey_code, pairing_code=clear)
    return page


@bp.route("/codes/<code>/kiosks/<int:kiosk_id>/revoke", methods=["GET", "POST"])
@permission_required("kiosk.revoke")
def kiosk_revoke(code: str, kiosk_id: int) -> WerkzeugResponse | str:
    """Withdraw a kiosk after a confirmation: its tablet stops taking answers at once."""
    survey_code = _code(code, "kiosk.revoke")
    kiosk = db.session.get(Kiosk, kiosk_id)
    if kiosk is None or kiosk.survey_code_id != survey_code.id:
        abort(404)
    if request.method == "GET":
        return render_template("counters/kiosk_revoke.html", survey_code=survey_code, kiosk=kiosk)
    try:
        kiosks.revoke(db.session, kiosk, current_user)
    except kiosks.KioskError:
        abort(410)
    db.session.commit()
    flash(_("Đã thu hồi máy tính bảng #%(id)d. Máy này không nhận phiếu nữa.", id=kiosk.id),
          "success")
    return redirect(url_for("counters.kiosks", code=survey_code.code))
