"""Words of the alerts: each rule's name and what an alert says, on a page or in an e-mail.

Never a citizen's words: an alert says where and what kind, and links to its page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey_app.models import Alert
from survey_app.web.labels import INDICATOR_LABELS, number, rate_flag_label

RULE_LABELS = {
    "integrity": _l("Người dân trả lời «Có» ở câu 7 (bị gây phiền hà, đòi tiền ngoài quy định)"),
    "dissatisfied_run": _l("Nhiều phiếu «Rất không hài lòng» tại một quầy trong một ngày"),
    "below_target": _l("Quầy hoặc lĩnh vực thấp rõ rệt dưới chỉ tiêu"),
    "implausible_rate": _l("Tỷ lệ phản hồi bất thường"),
}
RULE_HINTS = {
    "integrity": _l("Mỗi phiếu được tính có câu trả lời «Có» ở câu 7 tạo một cảnh báo."),
    "dissatisfied_run": _l("Cảnh báo khi một quầy nhận đủ số phiếu «Rất không hài lòng» "
                           "ở câu 6 trong cùng một ngày."),
    "below_target": _l("Cảnh báo khi cả khoảng tin cậy 95% của các phiếu được tính "
                       "trong số ngày gần nhất được xét nằm dưới chỉ tiêu."),
    "implausible_rate": _l("Cảnh báo khi số phiếu vượt số hồ sơ tiếp nhận, hoặc cao hơn "
                           "nhiều lần các đơn vị khác (cần có số hồ sơ tiếp nhận)."),
}
PARAMETER_LABELS = {
    "count": _l("Số phiếu trong một ngày"),
    "days": _l("Số ngày gần nhất được xét"),
}
STATUS_LABELS = {
    "open": _l("Chưa xử lý"),
    "acknowledged": _l("Đã tiếp nhận"),
    "closed": _l("Đã đóng"),
}
EVENT_LABELS = {
    "raised": _l("Phát sinh"),
    "acknowledged": _l("Tiếp nhận"),
    "closed": _l("Đóng"),
}
DELIVERY_LABELS = {
    "each": _l("Gửi email cho từng cảnh báo"),
    "digest": _l("Gửi một email tổng hợp mỗi ngày"),
    "none": _l("Không gửi email (chỉ xem trong hộp cảnh báo)"),
}


def rule_label(kind: str) -> str:
    return str(RULE_LABELS.get(kind, kind))


def scope_text(alert: Alert, locale: str = "vi") -> str:
    """Return where an alert is: the agency, and its counter or sector when it has one."""
    parts = [alert.agency.name]
    if alert.counter is not None:
        parts.append(alert.counter.name)
    if alert.sector is not None:
        parts.append(alert.sector.label(locale))
    return " · ".join(parts)


def summary(alert: Alert) -> str:
    """Return what the rule saw, in numbers."""
    details: dict[str, Any] = alert.details or {}
    if alert.kind == "dissatisfied_run":
        return _("%(count)s phiếu «Rất không hài lòng» trong ngày (ngưỡng %(threshold)s).",
                 count=number(details.get("count", 0)),
                 threshold=number(details.get("threshold", 0)))
    if alert.kind == "below_target":
        indicator = INDICATOR_LABELS.get(str(details.get("indicator")), "")
        return _("%(indicator)s: %(value)s%% (khoảng tin cậy %(low)s–%(high)s%%), chỉ tiêu "
                 "%(threshold)s%%, %(n)s phiếu được tính.",
                 indicator=indicator, value=number(details.get("value", 0)),
                 low=number(details.get("low", 0)), high=number(details.get("high", 0)),
                 threshold=number(details.get("threshold", 0)),
                 n=number(details.get("responses", 0)))
    if alert.kind == "implausible_rate":
        return _("Tỷ lệ phản hồi %(rate)s%%: %(why)s.", rate=number(details.get("rate", 0)),
                 why=rate_flag_label(details.get("flag")))
    return _("Một phiếu trả lời «Có» ở câu 7.")
