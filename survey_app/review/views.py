"""Citizens' comments, the responses left out of the figures, flagging or restoring one, and
erasing one comment."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import LazyString, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from survey_app.extensions import db
from survey_app.models import Agency, Response, utcnow
from survey_app.questionnaire import SCALE
from survey_app.review import bp
from survey_app.review.forms import (
    MANUAL_REASON_LABELS,
    CommentFilterForm,
    EraseCommentForm,
    FlagForm,
    QueueFilterForm,
    RestoreForm,
    ReviewFilterForm,
)
from survey_app.services.access import can
from survey_app.services.directory import agencies_in_scope, list_sectors
from survey_app.services.filters import FilterError, ResolvedFilter, resolve
from survey_app.services.periods import Period, deployment_zone, local_date
from survey_app.services.recording import CODE_REVOKED, DUPLICATE_DOSSIER, KIOSK_REPEAT
from survey_app.services.review import (
    ERASE_REASON_MAX_LENGTH,
    MANUAL_PREFIX,
    MANUAL_REASONS,
    NOTE_MAX_LENGTH,
    PAGE_SIZE,
    Outcome,
    ReviewFilter,
    ReviewPage,
    earliest_day,
    erase_comment,
    flag_response,
    response_for_change,
    restore_response,
    review_page,
    status_totals,
)
from survey_app.web.access import permission_required
from survey_app.web.i18n import current_language
from survey_app.web.redirects import safe_next_url

Page = WerkzeugResponse | str | tuple[str, int]
FilterForm = TypeVar("FilterForm", bound=ReviewFilterForm)

STATUS_LABELS = {
    "counted": _l("Được tính"),
    "duplicate": _l("Trùng mã hồ sơ"),
    "flagged": _l("Đã đánh dấu"),
}
# Why a response is not counted. The keys come from the parts of the system that set
# them; a key missing here is shown as it is stored.
REASON_LABELS = {
    DUPLICATE_DOSSIER: _l("Mã hồ sơ này đã có một phiếu khác được tính"),
    "too_fast": _l("Gửi quá nhanh sau khi mở phiếu"),
    "honeypot": _l("Có dấu hiệu gửi tự động (ô ẩn dành cho máy bị điền)"),
    "device_repeat": _l("Cùng một thiết bị gửi nhiều phiếu"),
    "burst": _l("Nhiều phiếu dồn dập qua cùng một mã QR trong thời gian ngắn"),
    "device_mismatch": _l("Phiếu gửi từ thiết bị khác với thiết bị đã mở phiếu"),
    "address_burst": _l("Nhiều phiếu từ cùng một địa chỉ mạng qua cùng một mã QR"),
    CODE_REVOKED: _l("Mã QR đã bị thu hồi trong khi người dân đang điền phiếu"),
    KIOSK_REPEAT: _l("Nhiều phiếu giống hệt nhau liên tiếp tại máy tính bảng ở quầy"),
}
OVERALL_LABELS = {int(choice.value): choice.label for choice in SCALE}
CONFLICT_MESSAGE = _l("Không thể khôi phục: đã có một phiếu khác được tính cho mã hồ sơ này.")
INVALID_FILTER = _l("Bộ lọc không hợp lệ.")
# FilterError.reason -> (field, message) for what resolve refuses.
FILTER_ERRORS = {
    "unknown_agency": ("agency", _l("Không có đơn vị nào với mã này.")),
    "unknown_sector": ("sector", _l("Không có lĩnh vực nào với mã này.")),
}


# The filter bar shared with the dashboard: carried by the links between the review pages.
FILTER_BAR_ARGS = ("period", "from", "to", "agency", "sector")


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def reason_label(reason: str | None) -> str:
    """Return why a response is not counted, in words (the stored key when unknown)."""
    if not reason:
        return ""
    if reason.startswith(MANUAL_PREFIX):
        code = reason[len(MANUAL_PREFIX):]
        label = MANUAL_REASON_LABELS.get(code)
        return _("Đánh dấu thủ công: %(reason)s", reason=str(label) if label else code)
    known = REASON_LABELS.get(reason)
    return str(known) if known else reason


def period_text(period: Period) -> str:
    """Return a period in words, dates as dd/mm/yyyy."""
    end = format_date(period.end, "dd/MM/yyyy")
    if period.start <= earliest_day():
        return _("trong toàn bộ thời gian đến %(end)s", end=end)
    return _("từ %(start)s đến %(end)s", start=format_date(period.start, "dd/MM/yyyy"), end=end)


def overall_label(value: int | None) -> str:
    label = OVERALL_LABELS.get(value) if value is not None else None
    return str(label) if label else _("Không trả lời")


# Lists -----------------------------------------------------------------------------------


def _filter_form(form_class: type[FilterForm]) -> FilterForm:
    form = form_class(formdata=request.args, today=local_date(utcnow()))
    form.fill_choices(agencies_in_scope(db.session, current_user), list_sectors(db.session),
                      current_language())
    return form


def _resolve(form: ReviewFilterForm) -> ResolvedFilter | None:
    """Check the filters against the user's scope: 403 for an agency outside it."""
    if not form.validate() or form.chosen_period is None:
        return None
    try:
        return resolve(
            db.session, current_user, form.chosen_period,
            agency_code=form.agency.data or None, sector_code=form.sector.data or None,
            statuses=None,
        )
    except FilterError as error:
        if error.reason == "forbidden_agency":
            abort(403)
        field_name, message = FILTER_ERRORS.get(error.reason, ("agency", INVALID_FILTER))
        field = getattr(form, field_name)
        field.errors = [*field.errors, message]
        return None


def _page_url(before: int | None) -> str:
    """Return the address of this list, same filters, starting below `before` (None: top)."""
    args: dict[str, Any] = request.args.to_dict(flat=False)
    args.pop("before", None)
    if before is not None:
        args["before"] = before
    return url_for(request.endpoint or "review.comments", **args)


def _filter_args() -> dict[str, str]:
    """Return the filter bar's choices in the address, for the links to the other pages."""
    return {name: value for name in FILTER_BAR_ARGS if (value := request.args.get(name, ""))}


def _render_list(template: str, form: ReviewFilterForm, page: ReviewPage | None,
                 status: int = 200, **context: Any) -> tuple[str, int]:
    before = request.args.get("before", type=int)
    return render_template(
        template,
        form=form,
        page=page,
        is_first_page=before is None,
        first_url=_page_url(None),
        next_url=_page_url(page.next_before) if page and page.next_before else None,
        back=request.full_path.rstrip("?"),
        filter_args=_filter_args(),
        flag_reasons=[(code, MANUAL_REASON_LABELS[code]) for code in MANUAL_REASONS],
        note_max_length=NOTE_MAX_LENGTH,
        page_size=PAGE_SIZE,
        status_label=status_label,
        reason_label=reason_label,
        overall_label=overall_label,
        **context,
    ), status


def _downloads(resolved: ResolvedFilter) -> dict[str, str]:
    """Return the addresses of every response of the page's period, agency and sector."""
    period = resolved.tally.period
    args: dict[str, Any] = {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "agency": resolved.agency.code if resolved.agency else None,
        "sector": resolved.sector.code if resolved.sector else None,
    }
    return {fmt: url_for("exports.responses", fmt=fmt, **args) for fmt in ("xlsx", "csv")}


@bp.get("/comments")
@permission_required("figures.view")
def comments() -> Page:
    """List the citizens' comments within the user's scope, newest first."""
    form = _filter_form(CommentFilterForm)
    resolved = _resolve(form)
    if resolved is None:
        return _render_list("review/comments.html", form, None, 400, totals=None)
    flt = ReviewFilter(
        period=resolved.tally.period,
        agency_ids=resolved.tally.agency_ids,
        sector_ids=resolved.tally.sector_ids,
        status=form.status.data,
        is_low_only=bool(form.is_low_only.data),
        search=form.search.data,
    )
    page = review_page(db.session, flt, deployment_zone(), request.args.get("before", type=int))
    totals = status_totals(db.session, resolved.tally)
    return _render_list("review/comments.html", form, page, totals=totals,
                        period=period_text(resolved.tally.period),
                        downloads=_downloads(resolved))


@bp.get("/flagged", endpoint="queue")
@permission_required("responses.review")
def queue() -> Page:
    """List the responses left out of the figures (duplicates and flagged), newest first."""
    form = _filter_form(QueueFilterForm)
    resolved = _resolve(form)
    if resolved is None:
        return _render_list("review/queue.html", form, None, 400)
    flt = ReviewFilter(
        period=resolved.tally.period,
        agency_ids=resolved.tally.agency_ids,
        sector_ids=resolved.tally.sector_ids,
        status="not_counted",
        with_comment_only=False,
    )
    page = review_page(db.session, flt, deployment_zone(), request.args.get("before", type=int))
    return _render_list("review/queue.html", form, page,
                        period=period_text(resolved.tally.period))


# Flag and restore ------------------------------------------------------------------------


def _response_or_403(response_id: int) -> Response:
    """Return the response, locked for a change, if its agency is within the user's scope."""
    response = response_for_change(db.session, response_id)
    if response is None:
        abort(404)
    if not can(current_user, "responses.review", db.session.get(Agency, response.agency_id)):
        abort(403)
    return response


def _back(target: str | None, response_id: int) -> str:
    """Return where to go after the change: the list the form was on, at the response."""
    path = safe_next_url(target, url_for("review.comments")).split("#", 1)[0]
    return f"{path}#response-{response_id}"


def _first_error(form: FlagForm | RestoreForm | EraseCommentForm) -> str | LazyString:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return _("Yêu cầu không hợp lệ.")


@bp.post("/responses/<int:response_id>/flag")
@permission_required("responses.review")
def flag(response_id: int) -> WerkzeugResponse:
    """Leave one response out of the figures, with a reason."""
    response = _response_or_403(response_id)
    form = FlagForm()
    back = _back(form.next.data, response.id)
    if not form.validate():
        flash(_("Chưa đánh dấu phiếu #%(id)d: %(error)s", id=response.id,
                error=_first_error(form)), "error")
        return redirect(back, code=303)
    outcome = flag_response(db.session, response, form.reason.data, form.note.data)
    if outcome is Outcome.UNCHANGED:
        flash(_("Phiếu #%(id)d đã được đánh dấu từ trước; không có gì thay đổi.",
                id=response.id), "info")
    else:
        db.session.commit()
        flash(_("Đã đánh dấu phiếu #%(id)d: phiếu được giữ lại nhưng không còn được tính "
                "vào số liệu.", id=response.id), "success")
    return redirect(back, code=303)


@bp.post("/responses/<int:response_id>/restore")
@permission_required("responses.review")
def restore(response_id: int) -> WerkzeugResponse:
    """Count one response again."""
    response = _response_or_403(response_id)
    form = RestoreForm()
    back = _back(form.next.data, response.id)
    if not form.validate():
        flash(_("Chưa khôi phục phiếu #%(id)d: %(error)s", id=response.id,
                error=_first_error(form)), "error")
        return redirect(back, code=303)
    outcome = restore_response(db.session, response)
    if outcome is Outcome.CONFLICT:
        flash(str(CONFLICT_MESSAGE), "error")
    elif outcome is Outcome.UNCHANGED:
        flash(_("Phiếu #%(id)d đang được tính; không có gì thay đổi.", id=response.id), "info")
    else:
        db.session.commit()
        flash(_("Đã khôi phục phiếu #%(id)d: phiếu được tính lại vào số liệu.",
                id=response.id), "success")
    return redirect(back, code=303)


@bp.route("/responses/<int:response_id>/erase-comment", methods=["GET", "POST"])
@permission_required("comment.erase")
def erase(response_id: int) -> Page:
    """Erase one response's comment for good, after a confirmation with a reason."""
    response = response_for_change(db.session, response_id)
    if response is None:
        abort(404)
    form = EraseCommentForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    back = _back(form.next.data, response.id)
    if response.comment is None:
        flash(_("Phiếu #%(id)d không có ý kiến nào để xóa.", id=response.id), "info")
        return redirect(back, code=303)
    if form.validate_on_submit():
        erase_comment(db.session, response, form.reason.data)
        db.session.commit()
        flash(_("Đã xóa hẳn ý kiến của phiếu #%(id)d. Phiếu vẫn được giữ và tính như trước.",
                id=response.id), "success")
        return redirect(back, code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("review/erase_comment.html", form=form, response=response,
                           back=back, reason_max_length=ERASE_REASON_MAX_LENGTH), status
