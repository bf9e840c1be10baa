"""Pages of the citizen's survey."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import (
    Flask,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import Gone, HTTPException, ServiceUnavailable
from werkzeug.wrappers import Response as WerkzeugResponse

from survey_app.extensions import db
from survey_app.models import Agency, Counter, Sector, SurveyCode
from survey_app.questionnaire import COMMENT_MAX_LENGTH, CURRENT
from survey_app.services import devices
from survey_app.services.caches import PageCache
from survey_app.services.receipts import ReceiptClaim
from survey_app.services.recording import (
    CodeLabels,
    Sender,
    SubmitToken,
    active_survey_code_or_abort,
    code_labels,
    code_taking_answers_or_abort,
    find_survey_code,
    issue_submit_token,
    recent_codes,
    record_response,
    response_for_nonce,
)
from survey_app.survey import bp, form_csrf, kiosk_views, posted
from survey_app.survey.complaints import complaint, thanks_redirect, thanks_response
from survey_app.survey.forms import HONEYPOT_FIELD, certain_form_data, survey_form_class
from survey_app.text import clean_survey_code
from survey_app.web.errors import (
    DATABASE_RETRY_AFTER,
    discard_transaction,
    log_database_unavailable,
    render_database_unavailable,
    render_error,
)
from survey_app.web.i18n import current_language
from survey_app.web.ratelimit import retry_after

# A phone that was given its anonymous id during a request gets the cookie that carries it.
bp.after_request(devices.remember_device)
# ... and the cookie its form's CSRF token is bound to (survey/form_csrf.py).
bp.after_request(form_csrf.remember_form_cookie)


def blank_forms(app: Flask | None = None) -> PageCache:
    """Return this app's rendered blank forms (see services/caches.py).

    `app` is the app, for a caller outside an app context; else the current one.
    """
    extensions = (current_app if app is None else app).extensions
    pages: PageCache = extensions.setdefault("survey_app.blank_forms", PageCache())
    return pages


@bp.get("/s")
def find() -> WerkzeugResponse:
    """Open the form of a code typed by hand on the home page."""
    typed = request.args.get("code", "")
    if not typed.strip():
        return redirect(url_for("main.index"))
    code = clean_survey_code(typed)
    if code is None:
        abort(404)  # the page of a code that does not exist, without asking the database
    return redirect(url_for("survey.show", code=code))


@bp.route("/s/<code>", methods=["GET", "POST"])
def show(code: str) -> WerkzeugResponse | tuple[str, int]:
    """Show the questionnaire of one counter and sector, and take its answers."""
    if request.method in ("GET", "HEAD"):
        labels = _code_labels_or_last_known(code)
        if labels is None:
            abort(404)
        if not labels.is_active:
            abort(410)
        if labels.code != code:
            # Typed in lower case, say: one canonical address per code.
            return redirect(url_for("survey.show", code=labels.code), code=308)
        return _blank_form(labels), 200

    survey_code = code_taking_answers_or_abort(
        db.session, code, request.form.get("submit_token")
    )
    if survey_code.code != code:
        return redirect(url_for("survey.show", code=survey_code.code), code=308)
    return take_answers(counter_form(survey_code))


@dataclass(frozen=True)
class FormPlace:
    """Where a form's answers go and how its page names the place: a counter's code, or a
    receipt link (whose dossier is known, so its form asks for none)."""

    survey_code: SurveyCode  # shown on the page, and where the answers are filed
    submit_code: str  # what the form's submit tokens are bound to
    action: str
    thanks: str
    place: str | None = None  # the line under the agency's name (default: counter · sector)
    receipt: ReceiptClaim | None = None
    with_dossier: bool = True
    intro: str | None = None  # instead of the questionnaire's (which speaks of today)

    def form_class(self) -> type[FlaskForm]:
        return survey_form_class(CURRENT, self.with_dossier)

    def certain_answers(self) -> dict[str, Any] | None:
        """Return the posted form's `data` when it is certainly valid, else None."""
        return certain_form_data(CURRENT, self.with_dossier)


def counter_form(survey_code: SurveyCode) -> FormPlace:
    """Return the form of a counter's code (its page names the counter and the sector)."""
    return FormPlace(
        survey_code=survey_code,
        submit_code=survey_code.code,
        action=url_for("survey.show", code=survey_code.code),
        thanks=url_for("survey.thanks", code=survey_code.code),
    )


def take_answers(target: FormPlace) -> WerkzeugResponse | tuple[str, int]:
    """Check a posted form and record its answers; show it again, kept, when it cannot be."""
    # A whole, valid post (nearly all of them) is read without building the form.
    answers = target.certain_answers()
    token = None if answers is None else posted.submit_token(
        answers["submit_token"], target.submit_code
    )
    if answers is None or token is None:
        return _take_form(target)
    return _record(target, answers, token)


def _take_form(target: FormPlace) -> WerkzeugResponse | tuple[str, int]:
    """Check a posted form with WTForms: its errors shown, its answers kept."""
    form = target.form_class()()
    is_valid = form.validate()
    if form.csrf_token.errors:
        # The session cookie was lost or is too old: keep the answers, ask to send again.
        # A submit token still good stays, so the time to answer counts from the first
        # rendering, and a form already recorded is not recorded twice.
        if posted.submit_token(form.submit_token.data, target.submit_code) is None:
            form.submit_token.data = issue_submit_token(target.submit_code, devices.device_id())
        notice = _(
            "Trang đã mở quá lâu nên phiếu chưa gửi được. Các câu trả lời vẫn còn; "
            "vui lòng bấm «Gửi đánh giá» lần nữa."
        )
        return render_form(form, target, notice, 400)

    token = posted.submit_token(form.submit_token.data, target.submit_code)
    if token is None:
        # A new form: it comes with a device cookie if the phone has none.
        form.submit_token.data = issue_submit_token(target.submit_code, devices.device_id())
        notice = _(
            "Trang đã mở quá lâu nên phiếu chưa gửi được. Các câu trả lời vẫn còn; "
            "vui lòng bấm «Gửi đánh giá» lần nữa."
        )
        return render_form(form, target, notice, 400)
    if not is_valid:
        if response_for_nonce(db.session, token.nonce) is not None:
            # This form was already recorded (record_response checks that itself when
            # the answers are valid): a replay gets the same thanks, not new errors.
            return thanks_redirect(target.thanks, form.data)
        return render_form(form, target, None, 422)
    return _record(target, form.data, token)


def _record(target: FormPlace, answers: dict[str, Any], token: SubmitToken) -> WerkzeugResponse:
    """Record valid answers (the form's `data`) sent with a good submit token; thank."""
    # A post must come from the device the form was served to. One without its cookie, or
    # with another one, is not given a new identity: it is flagged, with no device.
    device = devices.known_device_id()
    is_device_bound = token.is_sent_by(device)
    sender = Sender(
        device_hash=devices.device_hash(device) if device and is_device_bound else None,
        address=request.remote_addr,
        rendered_at=token.issued_at,
        is_honeypot_filled=bool((answers[HONEYPOT_FIELD] or "").strip()),
        is_device_bound=is_device_bound,
    )
    # A flagged response gets the same thanks: nothing tells a machine it was noticed.
    record_response(
        db.session,
        target.survey_code,
        CURRENT,
        answers,
        nonce=token.nonce,
        language=current_language(),
        sender=sender,
        receipt=target.receipt,
    )
    db.session.commit()
    return thanks_redirect(target.thanks, answers)


@bp.errorhandler(429)
def refused(error: HTTPException) -> tuple[WerkzeugResponse | str, int]:
    """Refuse a submission over a rate limit with its answers still on the page."""
    if request.endpoint == "survey.kiosk_answers":
        return kiosk_views.refused_json(), 429
    target = None
    if request.method == "POST" and request.endpoint in FORM_ENDPOINTS:
        try:
            target = FORM_ENDPOINTS[request.endpoint].open_form(request.view_args or {})
        except OperationalError as away:  # the database went away too: keep the answers
            return database_away(away)
    if target is None:
        return render_error(error)
    try:
        form = target.form_class()()  # reads the posted answers back, unchecked
    except HTTPException:  # the body itself is refused (too large)
        return render_error(error)
    seconds = retry_after()
    minutes = max(1, math.ceil(seconds / 60))
    notice = ngettext(
        "Phiếu của Ông/Bà chưa được gửi vì có quá nhiều phiếu được gửi trong thời gian "
        "ngắn. Các câu trả lời vẫn được giữ trên trang này, vui lòng bấm «Gửi đánh giá» "
        "lại sau %(num)d phút.",
        "Phiếu của Ông/Bà chưa được gửi vì có quá nhiều phiếu được gửi trong thời gian "
        "ngắn. Các câu trả lời vẫn được giữ trên trang này, vui lòng bấm «Gửi đánh giá» "
        "lại sau %(num)d phút.",
        minutes,
    )
    response = make_response(render_form(form, target, notice, 429))
    response.headers["Retry-After"] = str(seconds)
    return response, 429


def blank_form_key(labels: CodeLabels, language: str, query_string: bytes) -> tuple[Any, ...]:
    """Return what a cached blank form is kept under: everything its page shows but tokens."""
    return (
        CURRENT.version,
        labels.code,
        language,
        query_string,
        labels.agency_name,
        labels.counter_name,
        labels.sector_label(language),
    )


def _blank_form(labels: CodeLabels) -> str:
    """Return the form without answers, with this request's CSRF and submit tokens."""
    key = blank_form_key(labels, current_language(), request.query_string)

    # A new phone gets its anonymous id, and the cookie, with the form; the submit token
    # names that device.
    device = devices.device_id()

    def render() -> tuple[str, str, str]:
        survey_code = active_survey_code_or_abort(db.session, labels.code)
        form = survey_form_class(CURRENT)()
        form.submit_token.data = issue_submit_token(survey_code.code, device)
        page, _status = render_form(form, counter_form(survey_code))
        return page, form.csrf_token.current_token, form.submit_token.data

    return blank_forms().page(
        key, render, csrf=form_csrf.issue_token(), submit=issue_submit_token(labels.code, device)
    )


def render_form(
    form: FlaskForm, target: FormPlace, notice: str | None = None, status: int = 200
) -> tuple[str, int]:
    page = render_template(
        "survey/form.html",
        form=form,
        survey_code=target.survey_code,
        target=target,
        q=CURRENT,
        notice=notice,
        error_summary=_error_summary(form),
        comment_max=COMMENT_MAX_LENGTH,
    )
    return page, status


@dataclass(frozen=True)
class ErrorSummary:
    title: str
    links: list[tuple[str, str]]  # (anchor, text), in page order


def _error_summary(form: FlaskForm) -> ErrorSummary | None:
    """Return the title and the linked items of the error summary, in page order."""
    links: list[tuple[str, str]] = []
    is_missing = False
    for question in CURRENT.questions:
        errors = form[question.key].errors
        if errors:
            anchor = f"{question.key}-{question.values[0]}"
            label = _("Câu %(n)d", n=question.number)
            links.append((anchor, f"{label}: {errors[0]}"))
            is_missing = is_missing or form[question.key].raw_data in (None, [])
    for key, label in (("comment", _("Ý kiến khác")), ("dossier", _("Mã hồ sơ"))):
        if key in form and form[key].errors:
            links.append((key, f"{label}: {form[key].errors[0]}"))
    if not links:
        return None
    title = (
        _("Vui lòng trả lời các câu còn thiếu")
        if is_missing
        else _("Vui lòng kiểm tra lại các câu trả lời")
    )
    return ErrorSummary(title, links)


@bp.get("/s/<code>/thanks")
def thanks(code: str) -> WerkzeugResponse:
    """Thank the citizen; nothing else to do."""
    survey_code = find_survey_code(db.session, code)
    if survey_code is None:
        abort(404)
    shown, hotline = complaint(survey_code.agency_id)
    return thanks_response(render_template("survey/thanks.html",
                                           agency_name=survey_code.agency.name,
                                           complaint=shown, hotline=hotline))


# While the database is away --------------------------------------------------------------
# A restart of PostgreSQL must not cost a citizen the answers on the page: sending them gets
# the form back with every answer and the same submit token (whose nonce lets the press
# after the restart store exactly one response), and reading a form this worker has shown
# lately still works from the cached page.

# How stale the labels of a code may be and still name its form while the database is away:
# two minutes. A code renamed or revoked in that time shows so once the database is back,
# and nothing is stored before then anyway.
LABELS_KEPT_FOR_OUTAGE = 120


@bp.errorhandler(OperationalError)
def database_away(error: OperationalError) -> tuple[WerkzeugResponse | str, int]:
    """Give sent answers back on the form, unsaved, while the database cannot be reached."""
    if request.method != "POST" or request.endpoint not in FORM_ENDPOINTS:
        return render_database_unavailable(error)
    discard_transaction()
    log_database_unavailable(error)
    try:
        target = FORM_ENDPOINTS[request.endpoint].unsaved_form(request.view_args or {})
    except HTTPException as refusal:
        return render_error(refusal)
    if target is None:  # the address names no form: nothing to give back
        return render_error(ServiceUnavailable(retry_after=DATABASE_RETRY_AFTER))
    try:
        form = target.form_class()()  # reads the posted answers back, unchecked
    except HTTPException:  # the body itself is refused (too large)
        return render_error(ServiceUnavailable(retry_after=DATABASE_RETRY_AFTER))
    notice = _(
        "Phiếu của Ông/Bà chưa được lưu vì hệ thống đang tạm gián đoạn. Các câu trả lời vẫn "
        "được giữ trên trang này, vui lòng bấm «Gửi đánh giá» lại sau giây lát."
    )
    page, status = render_form(form, target, notice, 503)
    response = make_response(page, status)
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response, status


def _open_counter_form(view_args: dict[str, Any]) -> FormPlace | None:
    """Return the form of the active code in the address, if there is one."""
    survey_code = find_survey_code(db.session, view_args.get("code", ""))
    if survey_code is None or not survey_code.is_active:
        return None
    return counter_form(survey_code)


def _unsaved_counter_form(view_args: dict[str, Any]) -> FormPlace | None:
    """Return the form of the code in the address as last read (410 if it was revoked)."""
    code = clean_survey_code(view_args.get("code"))
    if code is None:  # no code is spelt so
        return None
    labels = _last_known_labels(code) or _unnamed_labels(code)
    if not labels.is_active:
        raise Gone()
    return counter_form(_unsaved_survey_code(labels))


@dataclass(frozen=True)
class FormEndpoint:
    """How an endpoint that takes answers finds its form again when it cannot take them."""

    # Over a rate limit: the open form of the address, or None (a plain error page).
    open_form: Callable[[dict[str, Any]], FormPlace | None]
    # While the database is away: the form from what is known without it, or None.
    unsaved_form: Callable[[dict[str, Any]], FormPlace | None]


# The endpoints that take answers; the receipt views add theirs.
FORM_ENDPOINTS: dict[str, FormEndpoint] = {
    "survey.show": FormEndpoint(_open_counter_form, _unsaved_counter_form),
}


def _code_labels_or_last_known(code: str) -> CodeLabels | None:
    """Return what the form shows of a code; while the database is away, what was last read."""
    try:
        return code_labels(lambda: db.session, code)
    except OperationalError as error:
        labels = _last_known_labels(code)
        if labels is None:
            raise
        discard_transaction()
        log_database_unavailable(error)
        return labels


def _last_known_labels(code: str) -> CodeLabels | None:
    """Return the code's labels as this worker last read them, if lately enough."""
    normalised = clean_survey_code(code)
    if normalised is None:
        return None
    return recent_codes().last_known(normalised, LABELS_KEPT_FOR_OUTAGE)


def _unnamed_labels(code: str) -> CodeLabels:
    """Return labels for a code this worker has not read lately: its place, in general words."""
    return CodeLabels(
        code=code,
        is_active=True,
        agency_name=_("Bộ phận Một cửa"),
        counter_name=_("Mã đánh giá"),
        sector_label_vi=code,
        sector_label_en=code,
    )


def _unsaved_survey_code(labels: CodeLabels) -> SurveyCode:
    """Return a code to render the form with, built from labels and never added to a session."""
    return SurveyCode(
        code=labels.code,
        agency=Agency(name=labels.agency_name),
        counter=Counter(name=labels.counter_name),
        sector=Sector(label_vi=labels.sector_label_vi, label_en=labels.sector_label_en),
    )
