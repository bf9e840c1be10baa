"""The e-mails of alerts: one alert, or a day's digest. Links only, never a citizen's words."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from survey_app.alerts.wording import rule_label, scope_text, summary
from survey_app.models import Alert
from survey_app.services import mail
from survey_app.services.alerts import Outgoing
from survey_app.web.i18n import local_datetime


def alert_url(alert: Alert) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/alerts/{alert.id}"


def _lines(alert: Alert) -> list[str]:
    return [
        _("Loại cảnh báo: %(rule)s", rule=rule_label(alert.kind)),
        _("Nơi: %(scope)s", scope=scope_text(alert)),
        _("Thời gian: %(at)s", at=local_datetime(alert.created_at)),
        summary(alert),
        _("Xem và xử lý: %(url)s", url=alert_url(alert)),
    ]


def compose(outgoing: Outgoing, mode: str) -> EmailMessage:
    """Write the e-mail of one outbox entry, in Vietnamese."""
    with force_locale("vi"):
        alerts = outgoing.alerts
        if mode == "each":
            alert = alerts[0]
            subject = _("[Cảnh báo] %(rule)s – %(agency)s", rule=rule_label(alert.kind),
                        agency=alert.agency.name)
            body = "\n".join(_lines(alert))
        else:
            subject = ngettext("[Cảnh báo] Tổng hợp: %(num)d cảnh báo mới",
                               "[Cảnh báo] Tổng hợp: %(num)d cảnh báo mới", len(alerts))
            body = "\n\n".join("\n".join(_lines(alert)) for alert in alerts)
        body += "\n\n" + _("Email này được gửi tự động; cách nhận cảnh báo đổi tại %(url)s",
                           url=current_app.config["PUBLIC_BASE_URL"].rstrip("/")
                           + "/alerts/preferences")
    return mail.message(current_app.config["MAIL_FROM"], outgoing.user.email, subject, body)
