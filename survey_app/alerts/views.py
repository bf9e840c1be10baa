"""The alerts inbox, one alert and its history, acknowledging and closing, rules, e-mail choice."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from survey_app.alerts import bp
from survey_app.alerts.forms import AcknowledgeForm, CloseForm, PreferenceForm, rule_form
from survey_app.alerts.wording import (
    DELIVERY_LABELS,
    EVENT_LABELS,
    PARAMETER_LABELS,
    RULE_HINTS,
    STATUS_LABELS,
    rule_label,
    scope_text,
    summary,
)
from survey_app.extensions import db
from survey_app.models import Alert
from survey_app.services import alerts
from survey_app.services.access import can
from survey_app.services.alerts import PARAMETERS, STATUSES, AlertError
from survey_app.web.access import permission_required, signed_in_user
from survey_app.web.i18n import current_language

Page = Response | str | tuple[str, int]

REFUSALS = {
    "note required": _l("Vui lòng ghi chú việc đã hoặc sẽ làm."),
    "note too long": _l("Ghi chú quá dài."),
    "not open": _l("Cảnh báo này đã được tiếp nhận trước đó."),
    "not acknowledged": _l("Chỉ đóng được cảnh báo đã tiếp nhận và chưa đóng."),
}


@bp.app_context_processor
def navigation_count() -> dict[str, object]:
    """Let the staff navigation show the open alerts (one COUNT, only where it is drawn)."""
    return {"open_alert_count": lambda: alerts.open_count(db.session, signed_in_user())}


def _alert_or_403(alert_id: int, action: str) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        abort(404)
    if not can(signed_in_user(), action, alert.agency):
        abort(403)
    return alert


@bp.get("/", endpoint="inbox")
@permission_required("alerts.read")
def inbox() -> str:
    """List the newest alerts of the user's agencies, open ones first by default."""
    user = signed_in_user()
    assert user is not None
    status = request.args.get("status", "open")
    if status not in (*STATUSES, "all"):
        status = "open"
    return render_template(
        "alerts/inbox.html",
        alerts=alerts.list_alerts(db.session, user, None if status == "all" else status),
        counts=alerts.count_by_status(db.session, user),
        status=status,
        status_labels=STATUS_LABELS,
        rule_label=rule_label,
        scope_text=scope_text,
        summary=summary,
        locale=current_language(),
    )


def _show(alert: Alert, acknowledge_form: AcknowledgeForm, close_form: CloseForm,
          status: int = 200) -> tuple[str, int]:
    return render_template(
        "alerts/show.html",
        alert=alert,
        events=alerts.events_of(db.session, alert),
        code=alerts.alert_code(db.session, alert),
        acknowledge_form=acknowledge_form,
        close_form=close_form,
        status_labels=STATUS_LABELS,
        event_labels=EVENT_LABELS,
        rule_label=rule_label,
        scope=scope_text(alert, current_language()),
        summary=summary(alert),
        may_handle=can(signed_in_user(), "alerts.handle", alert.agency),
    ), status


@bp.get("/<int:alert_id>", endpoint="show")
@permission_required("alerts.read")
def show(alert_id: int) -> Page:
    """Show one alert: where, what the rule saw, its history, and what may be done next."""
    alert = _alert_or_403(alert_id, "alerts.read")
    return _show(alert, AcknowledgeForm(), CloseForm())


def _handle(alert_id: int, step: str) -> Page:
    alert = _alert_or_403(alert_id, "alerts.handle")
    user = signed_in_user()
    assert user is not None
    acknowledge_form, close_form = AcknowledgeForm(), CloseForm()
    form = acknowledge_form if step == "acknowledge" else close_form
    if not form.validate_on_submit():
        return _show(alert, acknowledge_form, close_form, 400)
    try:
        if step == "acknowledge":
            alerts.acknowledge(db.session, alert, user, form.note.data)
        else:
            alerts.close(db.session, alert, user, form.note.data)
    except AlertError as error:
        db.session.rollback()
        flash(str(REFUSALS.get(error.reason, _("Không thực hiện được."))), "error")
        return redirect(url_for("alerts.show", alert_id=alert_id))
    db.session.commit()
    flash(_("Đã tiếp nhận cảnh báo.") if step == "acknowledge" else _("Đã đóng cảnh báo."),
          "success")
    return redirect(url_for("alerts.show", alert_id=alert_id))


@bp.post("/<int:alert_id>/acknowledge", endpoint="acknowledge")
@permission_required("alerts.handle")
def acknowledge(alert_id: int) -> Page:
    """Acknowledge an open alert with a note."""
    return _handle(alert_id, "acknowledge")


@bp.post("/<int:alert_id>/close", endpoint="close")
@permission_required("alerts.handle")
def close(alert_id: int) -> Page:
    """Close an acknowledged alert."""
    return _handle(alert_id, "close")


@bp.route("/rules", methods=["GET", "POST"], endpoint="rules")
@permission_required("alerts.rules")
def rules() -> Page:
    """Turn each rule on or off and set its parameters (admins)."""
    found = alerts.list_rules(db.session)
    forms = {
        rule.kind: rule_form(rule.kind)(
            prefix=rule.kind,
            formdata=request.form if request.form.get("rule") == rule.kind else None,
            data={"is_enabled": rule.is_enabled,
                  **alerts.parameters_of(rule, rule.kind)},
        )
        for rule in found
    }
    status = 200
    if request.method == "POST":
        kind = request.form.get("rule")
        rule = next((r for r in found if r.kind == kind), None)
        if rule is None:
            flash(_("Không rõ quy tắc cần lưu."), "error")
            return redirect(url_for("alerts.rules"))
        form = forms[rule.kind]
        if form.validate():
            parameters = {name: form[name].data for name in PARAMETERS[rule.kind]}
            changes = alerts.update_rule(db.session, rule, bool(form.is_enabled.data),
                                         parameters)
            db.session.commit()
            flash(_("Đã lưu quy tắc cảnh báo.") if changes
                  else _("Quy tắc không có gì thay đổi."), "success" if changes else "info")
            return redirect(url_for("alerts.rules"))
        status = 400
    else:
        db.session.commit()  # rules missing from an old database are added, enabled
    return render_template(
        "alerts/rules.html", rules=found, forms=forms, rule_label=rule_label,
        hints=RULE_HINTS, parameters=PARAMETERS, parameter_labels=PARAMETER_LABELS,
    ), status


@bp.route("/preferences", methods=["GET", "POST"], endpoint="preferences")
@permission_required("alerts.read")
def preferences() -> Page:
    """Choose how alerts come by e-mail: each one, a daily digest, or none."""
    user = signed_in_user()
    assert user is not None
    form = PreferenceForm(data={"delivery": alerts.delivery_of(db.session, user.id)})
    if form.validate_on_submit():
        changed = alerts.set_delivery(db.session, user, form.delivery.data)
        db.session.commit()
        flash(_("Đã lưu cách nhận cảnh báo.") if changed
              else _("Cách nhận cảnh báo không thay đổi."), "success" if changed else "info")
        return redirect(url_for("alerts.preferences"))
    return render_template("alerts/preferences.html", form=form, labels=DELIVERY_LABELS,
                           has_mail=bool(current_app.config.get("SMTP_URL"))), (
        400 if request.method == "POST" else 200)
