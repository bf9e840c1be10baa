"""The kiosk tablet at a counter: pairing, the form, and its answers (JSON or a plain post).

The tablet keeps its credential in a cookie of its own (HttpOnly, SameSite=Strict, path
/kiosk). Its page is never stored by the browser's cache nor kept for Back (no-store); the
service worker keeps a blank copy for offline use, and the answers wait in IndexedDB until
they are sent, each with its own id so that it is stored exactly once.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as WerkzeugResponse

from survey_app.extensions import db
from survey_app.models import LANGUAGES, Kiosk
from survey_app.questionnaire import COMMENT_MAX_LENGTH, CURRENT
from survey_app.services import kiosks
from survey_app.services.directory import complaint_hotline
from survey_app.survey import bp
from survey_app.survey.complaints import complaint, thanks_redirect
from survey_app.survey.forms import survey_form_class
from survey_app.web.i18n import current_language
from survey_app.web.ratelimit import retry_after

COOKIE = "kiosk"
COOKIE_PATH = "/kiosk"
COOKIE_DAYS = 400  # the longest a browser keeps a cookie
# The largest JSON body of one answer: the comment at its longest, in UTF-8, and the rest.
MAX_ANSWER_BYTES = 16 * 1024


def _refusal_message(reason: str) -> str:
    if reason == "revoked":
        return _(
            "Máy tính bảng này đã bị thu hồi và không nhận phiếu nữa. "
            "Vui lòng báo cán bộ tại quầy."
        )
    if reason == "code_revoked":
        return _(
            "Mã của quầy này đã ngừng sử dụng nên máy không nhận phiếu nữa. "
            "Vui lòng báo cán bộ tại quầy để ghép nối lại."
        )
    return _("Máy tính bảng này chưa được ghép nối với quầy. Vui lòng báo cán bộ tại quầy.")


def _no_store(response: WerkzeugResponse) -> WerkzeugResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


def _is_cross_site() -> bool:
    """Return whether a post comes from another site's page (a forged pairing or answer)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    return bool(origin) and origin != request.host_url.rstrip("/")


def current_kiosk() -> Kiosk | None:
    return kiosks.kiosk_for_credential(db.session, request.cookies.get(COOKIE))


def _kiosk_form() -> Any:
    return survey_form_class(CURRENT)(meta={"csrf": False})


@bp.get("/kiosk")
def kiosk() -> WerkzeugResponse:
    """Show the tablet's form, or the pairing page to a tablet not (or no longer) paired."""
    device = current_kiosk()
    reason = kiosks.refusal(device)
    if device is None:
        page = render_template("survey/kiosk_pair.html", error=None)
        return _no_store(make_response(page, 200))
    if reason is not None:
        page = render_template("survey/kiosk_refused.html", message=_refusal_message(reason))
        return _no_store(make_response(page, 403))
    page = render_template(
        "survey/kiosk.html",
        form=_kiosk_form(),
        survey_code=device.survey_code,
        q=CURRENT,
        answer_id=str(uuid.uuid4()),
        comment_max=COMMENT_MAX_LENGTH,
        # Shown by kiosk.js on the thanks panel after q7 «Có».
        hotline=complaint_hotline(db.session, device.survey_code.agency_id),
    )
    response = _no_store(make_response(page, 200))
    response.headers["X-Kiosk-Page"] = "form"  # the one page the service worker keeps
    return response


@bp.post("/kiosk/pair")
def kiosk_pair() -> WerkzeugResponse:
    """Pair this tablet by the code shown on the staff page; keep its credential."""
    if _is_cross_site():
        return _no_store(make_response(render_template(
            "survey/kiosk_pair.html", error=_("Yêu cầu không hợp lệ.")), 403))
    try:
        device, credential = kiosks.pair(db.session, request.form.get("pairing_code"))
    except kiosks.KioskError:
        db.session.rollback()
        page = render_template(
            "survey/kiosk_pair.html",
            error=_("Mã ghép nối không đúng hoặc đã hết hạn. Vui lòng lấy mã mới ở trang quản lý."),
        )
        return _no_store(make_response(page, 400))
    db.session.commit()
    response = redirect(url_for("survey.kiosk"), code=303)
    response.set_cookie(
        COOKIE,
        credential,
        max_age=COOKIE_DAYS * 24 * 3600,
        path=COOKIE_PATH,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Strict",
    )
    return _no_store(response)


def _json_error(status: int, reason: str, message: str, **extra: Any) -> WerkzeugResponse:
    response = jsonify({"error": {"reason": reason, "message": message, **extra}})
    response.status_code = status
    return _no_store(response)


def _answers_formdata(answers: dict[str, Any]) -> MultiDict[str, Any] | None:
    """Return the answers as the phone form's fields, or None when they are not shaped so."""
    data: MultiDict[str, Any] = MultiDict()
    for key, value in answers.items():
        if not isinstance(key, str):
            return None
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is None:
                continue
            if not isinstance(item, str | int) or isinstance(item, bool):
                return None
            data.add(key, str(item))
    return data


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value < 0 or value > 24 * 3600:  # NaN, negative, absurd
        return None
    return float(value)


def _language(value: object) -> str:
    return value if isinstance(value, str) and value in LANGUAGES else "vi"


def _take(device: Kiosk, formdata: MultiDict[str, Any], answer_id: str,
          seconds: float | None, language: str) -> tuple[kiosks.KioskAnswer | None, Any]:
    """Validate and store one answer; return it, or the form with its errors."""
    form = survey_form_class(CURRENT)(formdata=formdata, meta={"csrf": False})
    if not form.validate():
        return None, form
    answer = kiosks.record_answer(
        db.session, device, CURRENT, form.data, answer_id=answer_id,
        seconds_to_answer=seconds, language=language, address=request.remote_addr,
    )
    return answer, form


@bp.post("/kiosk/answers")
def kiosk_answers() -> WerkzeugResponse:
    """Take one answer sent by the tablet's page or its service worker, as JSON.

    A replay of an answer id already stored answers as the first time did (200, the same
    id): the queue on the tablet may send it again, after a reload or a restart.
    """
    if _is_cross_site():
        return _json_error(403, "cross_site", _("Yêu cầu không hợp lệ."))
    device = current_kiosk()
    reason = kiosks.refusal(device)
    if reason is not None:
        return _json_error(401 if reason == "unknown" else 403, reason, _refusal_message(reason))
    assert device is not None
    if (request.content_length or 0) > MAX_ANSWER_BYTES:
        return _json_error(413, "too_large", _("Phiếu quá lớn."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _json_error(400, "not_json", _("Phiếu không đúng định dạng."))
    answer_id = kiosks.clean_answer_id(body.get("id"))
    if answer_id is None:
        return _json_error(400, "bad_id", _("Phiếu thiếu mã nhận diện hợp lệ."))
    answers = body.get("answers")
    formdata = _answers_formdata(answers) if isinstance(answers, dict) else None
    if formdata is None:
        return _json_error(400, "bad_answers", _("Phiếu không đúng định dạng."))
    try:
        answer, form = _take(device, formdata, answer_id, _seconds(body.get("seconds")),
                             _language(body.get("language")))
    except kiosks.KioskError:
        db.session.rollback()
        return _json_error(409, "taken", _("Mã nhận diện của phiếu đã được dùng."))
    if answer is None:
        errors = {key: [str(e) for e in field.errors] for key, field in form._fields.items()
                  if field.errors}
        return _json_error(422, "invalid", _("Vui lòng kiểm tra lại các câu trả lời."),
                           fields=errors)
    db.session.commit()
    return _no_store(jsonify({"id": answer_id, "stored": True, "is_new": answer.is_new}))


def refused_json() -> WerkzeugResponse:
    """Ask the tablet to send again later: it keeps the answer in its queue meanwhile."""
    seconds = retry_after()
    response = _json_error(429, "too_many", _("Quá nhiều phiếu trong thời gian ngắn, "
                                               "phiếu sẽ được gửi lại sau."), retry_after=seconds)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.post("/kiosk/answer")
def kiosk_answer() -> WerkzeugResponse | tuple[str, int]:
    """Take one answer from the tablet's page sent as a plain form (without JavaScript)."""
    device = current_kiosk()
    reason = kiosks.refusal(device)
    if _is_cross_site() or reason is not None:
        status = 401 if reason == "unknown" else 403
        page = render_template("survey/kiosk_refused.html",
                               message=_refusal_message(reason or "unknown"))
        return _no_store(make_response(page, status))
    assert device is not None
    answer_id = kiosks.clean_answer_id(request.form.get("answer_id")) or str(uuid.uuid4())
    formdata = MultiDict(request.form)
    try:
        answer, form = _take(device, formdata, answer_id, None, current_language())
    except kiosks.KioskError:  # an id another kiosk sent: this one gets a new id
        db.session.rollback()
        answer, form = _take(device, formdata, str(uuid.uuid4()), None, current_language())
    if answer is None:
        page = render_template(
            "survey/kiosk.html", form=form, survey_code=device.survey_code, q=CURRENT,
            answer_id=answer_id, comment_max=COMMENT_MAX_LENGTH,
            hotline=complaint_hotline(db.session, device.survey_code.agency_id),
            notice=_("Vui lòng kiểm tra lại các câu trả lời"),
        )
        return _no_store(make_response(page, 422))
    db.session.commit()
    return _no_store(thanks_redirect(url_for("survey.kiosk_thanks"), form.data))


@bp.get("/kiosk/thanks")
def kiosk_thanks() -> WerkzeugResponse:
    """Thank the citizen, then go back to a blank form by itself."""
    device = current_kiosk()
    agency = device.survey_code.agency.name if device is not None else ""
    shown, hotline = complaint(device.survey_code.agency_id) if device else (False, None)
    page = render_template("survey/kiosk_thanks.html", agency_name=agency,
                           complaint=shown, hotline=hotline)
    return _no_store(make_response(page, 200))


@bp.get("/kiosk/manifest.webmanifest")
def kiosk_manifest() -> WerkzeugResponse:
    """Describe the kiosk as an installable full-screen web app."""
    manifest = {
        "name": _("Đánh giá sự phục vụ tại quầy"),
        "short_name": _("Đánh giá"),
        "lang": current_language(),
        "start_url": url_for("survey.kiosk"),
        "scope": url_for("survey.kiosk"),
        "display": "fullscreen",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#1d4f91",
        "icons": [{"src": url_for("static", filename="kiosk-icon.svg"),
                   "sizes": "any", "type": "image/svg+xml"}],
    }
    response = jsonify(manifest)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/kiosk/sw.js")
def kiosk_worker() -> WerkzeugResponse:
    """Serve the kiosk's service worker, allowed to control /kiosk itself."""
    static_folder = current_app.static_folder
    assert static_folder is not None
    response = send_from_directory(static_folder, "kiosk-sw.js", max_age=0)
    response.headers["Service-Worker-Allowed"] = url_for("survey.kiosk")
    response.headers["Cache-Control"] = "no-cache"
    return response
