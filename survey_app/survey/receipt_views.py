"""The form behind a dossier's receipt link (/r/<token>), answered from anywhere.

The link names its dossier (docs/receipts.md), so the form asks for none; everything else
is the counter's form: the same questions, tokens, limits and flags. A link that is not
genuine or no longer open gets a page that says which, and stores nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as WerkzeugResponse

from survey_app.extensions import db
from survey_app.models import Agency, Counter, Sector, SurveyCode, utcnow
from survey_app.questionnaire import CURRENT
from survey_app.services import devices, receipts
from survey_app.services.periods import local_date
from survey_app.services.receipts import ReceiptClaim, ReceiptError
from survey_app.services.recording import issue_submit_token
from survey_app.survey import bp
from survey_app.survey.complaints import complaint, thanks_response
from survey_app.survey.forms import survey_form_class
from survey_app.survey.views import (
    FORM_ENDPOINTS,
    FormEndpoint,
    FormPlace,
    render_form,
    take_answers,
)
from survey_app.web.i18n import current_language

# A receipt's submit tokens are bound to "r:" and its token; a code never has a colon.
RECEIPT_SUBMIT_PREFIX = "r:"

# Each refusal: its status (404 for what is not one of our links, 410 for one of ours that
# is closed), its title and its one sentence of advice. EXPIRED's advice is built apart
# (it names the number of days).
REFUSALS: dict[str, tuple[int, Any, Any]] = {
    receipts.MALFORMED: (
        404,
        _l("Không đọc được liên kết đánh giá"),
        _l("Liên kết này bị thiếu hoặc sai ký tự. Vui lòng quét lại mã QR trên giấy tiếp "
           "nhận hồ sơ."),
    ),
    receipts.UNKNOWN_KEY: (
        404,
        _l("Liên kết đánh giá không hợp lệ"),
        _l("Liên kết này không do hệ thống cấp. Vui lòng quét mã QR in trên giấy tiếp nhận "
           "hồ sơ, hoặc hỏi cán bộ tại Bộ phận Một cửa."),
    ),
    receipts.FORGED: (
        404,
        _l("Liên kết đánh giá đã bị sửa đổi"),
        _l("Liên kết này không khớp với mã QR đã cấp. Vui lòng quét lại mã QR trên giấy "
           "tiếp nhận hồ sơ thay vì gõ lại bằng tay."),
    ),
    receipts.WRONG_AGENCY: (
        404,
        _l("Liên kết đánh giá ghi sai đơn vị"),
        _l("Liên kết này không thuộc đơn vị đã cấp nó. Vui lòng báo cho Bộ phận Một cửa "
           "nơi Ông/Bà nộp hồ sơ."),
    ),
    receipts.UNKNOWN_SECTOR: (
        404,
        _l("Liên kết đánh giá ghi sai lĩnh vực"),
        _l("Lĩnh vực ghi trong liên kết này không có trong hệ thống. Vui lòng báo cho Bộ "
           "phận Một cửa nơi Ông/Bà nộp hồ sơ."),
    ),
    receipts.NOT_YET_VALID: (
        404,
        _l("Liên kết đánh giá chưa có hiệu lực"),
        _l("Ngày tiếp nhận ghi trong liên kết này chưa tới. Vui lòng thử lại vào hôm sau, "
           "hoặc báo cho Bộ phận Một cửa."),
    ),
    receipts.EXPIRED: (410, _l("Liên kết đánh giá đã hết hạn"), None),
    receipts.RETIRED: (
        410,
        _l("Liên kết đánh giá đã ngừng sử dụng"),
        _l("Đơn vị đã ngừng sử dụng liên kết này. Ông/Bà vẫn có thể đánh giá bằng mã QR "
           "đặt tại quầy."),
    ),
}
assert set(REFUSALS) == set(receipts.REASONS)


def receipt_submit_code(token: object) -> str | None:
    """Return what a receipt form's submit tokens are bound to, or None for no token."""
    return RECEIPT_SUBMIT_PREFIX + str(token) if receipts.looks_like_token(token) else None


@bp.route("/r/<token>", methods=["GET", "POST"])
def receipt(token: str) -> WerkzeugResponse | tuple[str, int]:
    """Show the questionnaire of one dossier's receipt link, and take its answers."""
    try:
        claim = receipts.verify(db.session, token, _today())
    except ReceiptError as error:
        return _refusal(error)
    if receipts.is_answered(db.session, claim):
        # Answered before: nothing to do but thank. A post stores nothing new either.
        note = _("Phiếu đánh giá của hồ sơ này đã được ghi nhận.")
        return render_template("survey/thanks.html", agency_name=claim.agency_name, note=note), 200
    if request.method == "POST":
        survey_code = receipts.receipt_code_for(db.session, claim.agency_id, claim.sector_id)
        return take_answers(_receipt_form(claim, token, survey_code))
    form = survey_form_class(CURRENT, with_dossier=False)()
    form.submit_token.data = issue_submit_token(RECEIPT_SUBMIT_PREFIX + token, devices.device_id())
    return render_form(form, _receipt_form(claim, token))


@bp.get("/r/<token>/thanks")
def receipt_thanks(token: str) -> WerkzeugResponse | tuple[str, int]:
    """Thank the citizen who answered through a receipt link."""
    try:
        claim = receipts.verify(db.session, token, _today())
    except ReceiptError as error:
        return _refusal(error)
    shown, hotline = complaint(claim.agency_id)
    return thanks_response(render_template("survey/thanks.html", agency_name=claim.agency_name,
                                           complaint=shown, hotline=hotline))


def _today() -> date:
    return local_date(utcnow())


def _refusal(error: ReceiptError) -> tuple[str, int]:
    status, title, advice = REFUSALS[error.reason]
    if error.reason == receipts.EXPIRED:
        days = receipts.valid_days()
        advice = ngettext(
            "Liên kết chỉ dùng được trong %(num)d ngày kể từ ngày tiếp nhận hồ sơ. Ông/Bà vẫn "
            "có thể đánh giá bằng mã QR đặt tại quầy.",
            "Liên kết chỉ dùng được trong %(num)d ngày kể từ ngày tiếp nhận hồ sơ. Ông/Bà vẫn "
            "có thể đánh giá bằng mã QR đặt tại quầy.",
            days,
        )
    page = render_template("errors/error.html", status=status, title=title, advice=advice)
    return page, status


def _receipt_form(
    claim: ReceiptClaim, token: str, survey_code: SurveyCode | None = None
) -> FormPlace:
    """Return the form of a genuine link: its agency, the day its dossier was received."""
    place = _(
        "Hồ sơ tiếp nhận ngày %(date)s · %(sector)s",
        date=format_date(claim.issued_on, "dd/MM/yyyy"),
        sector=claim.sector_label(current_language()),
    )
    return FormPlace(
        survey_code=survey_code or _unsaved_code(claim.agency_name, claim),
        submit_code=RECEIPT_SUBMIT_PREFIX + token,
        action=url_for("survey.receipt", token=token),
        thanks=url_for("survey.receipt_thanks", token=token),
        place=place,
        receipt=claim,
        with_dossier=False,
        # Answered at home, days or weeks later: "this dossier", not "today".
        intro=str(CURRENT.receipt_intro) % {"agency": claim.agency_name},
    )


def _unsaved_code(agency_name: str, claim: ReceiptClaim | None) -> SurveyCode:
    """Return a code to render the form with, never added to a session."""
    return SurveyCode(
        agency=Agency(name=agency_name),
        counter=Counter(name=receipts.RECEIPT_COUNTER_NAME),
        sector=Sector(
            label_vi=claim.sector_label_vi if claim else "",
            label_en=claim.sector_label_en if claim else "",
        ),
    )


def _open_receipt_form(view_args: dict[str, Any]) -> FormPlace | None:
    """Return the form of the genuine, open link in the address, if it is one."""
    token = view_args.get("token")
    try:
        claim = receipts.verify(db.session, token, _today())
    except ReceiptError:
        return None
    assert isinstance(token, str)
    return _receipt_form(claim, token)


def _unsaved_receipt_form(view_args: dict[str, Any]) -> FormPlace | None:
    """Return the form of the link in the address from the link alone (no database).

    Nothing tells whether it is genuine, and nothing is stored: the answers come back on
    a form in general words, posting to the same address.
    """
    token = view_args.get("token")
    try:
        parsed = receipts.read_token(token)
    except ReceiptError:
        return None
    assert isinstance(token, str)
    return FormPlace(
        survey_code=_unsaved_code(_("Bộ phận Một cửa"), None),
        submit_code=RECEIPT_SUBMIT_PREFIX + token,
        action=url_for("survey.receipt", token=token),
        thanks=url_for("survey.receipt_thanks", token=token),
        place=_("Hồ sơ tiếp nhận ngày %(date)s", date=format_date(parsed.issued_on, "dd/MM/yyyy")),
        with_dossier=False,
    )


FORM_ENDPOINTS["survey.receipt"] = FormEndpoint(_open_receipt_form, _unsaved_receipt_form)
