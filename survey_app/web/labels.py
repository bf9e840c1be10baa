"""Words for the machine values people see: roles, agency levels, indicators, verdicts."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_decimal, format_percent, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey_app import questionnaire
from survey_app.readaloud import spoken_text
from survey_app.services.rates import ABOVE_100, FAR_ABOVE_PEERS, PEER_FACTOR
from survey_app.sipas import Judgement

ROLE_LABELS = {"admin": _l("Quản trị"), "manager": _l("Lãnh đạo, quản lý"), "staff": _l("Cán bộ")}
LEVEL_LABELS = {"province": _l("Cấp tỉnh"), "commune": _l("Cấp xã")}
# The two indicators that carry targets (sipas.Indicator), as a report names them.
INDICATOR_LABELS = {
    "overall": _l("Hài lòng về giải quyết TTHC"),
    "sipas_index": _l("Chỉ số hài lòng (tính theo phương pháp SIPAS)"),
}
# The elements' names come with the questionnaire.
ELEMENT_LABELS = questionnaire.ELEMENT_LABELS
# The values of sipas.Status.
STATUS_LABELS = {"met": _l("Đạt"), "below": _l("Chưa đạt"), "insufficient": _l("Chưa đủ mẫu")}
UNCERTAIN_STATUS_LABELS = {
    "met": _l("Đạt (chưa chắc chắn)"),
    "below": _l("Chưa đạt (chưa chắc chắn)"),
}

# Where a response came from (models.SOURCES), as every output names it.
SOURCE_LABELS = {
    "counter": _l("Mã QR tại quầy"),
    "receipt": _l("Liên kết trên giấy tiếp nhận"),
    "kiosk": _l("Máy tính bảng tại quầy"),
}
# Why a response rate needs a review (services/rates.py), as every output says it.
RATE_FLAG_LABELS = {
    ABOVE_100: _l("nhiều phiếu hơn số hồ sơ tiếp nhận"),
    FAR_ABOVE_PEERS: _l("cao hơn %(factor)d lần trung vị của các đơn vị khác",
                        factor=PEER_FACTOR),
}


def source_label(source: str) -> str:
    return str(SOURCE_LABELS.get(source, source))


def rate_flag_label(flag: str | None) -> str:
    """Return why a response rate needs a review, in words; empty when it does not."""
    return str(RATE_FLAG_LABELS[flag]) if flag in RATE_FLAG_LABELS else ""


def verdict_label(judgement: Judgement) -> str:
    """Return a verdict as one label, «Đạt (chưa chắc chắn)» included: the same in every output."""
    if judgement.uncertain and judgement.status.value in UNCERTAIN_STATUS_LABELS:
        return str(UNCERTAIN_STATUS_LABELS[judgement.status.value])
    return str(STATUS_LABELS[judgement.status.value])


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def level_label(level: str) -> str:
    return str(LEVEL_LABELS.get(level, level))


def number(value: float | int) -> str:
    """Format a number for the page's language: 1.234 in Vietnamese, 1,234 in English."""
    return format_decimal(value)


# Figures in words, shared by the dashboard and the public board ---------------------------

DASH = "—"


def percent(value: float | None) -> str:
    """Return a share in percent, one decimal: «92,4%» in Vietnamese, «92.4%» in English."""
    return DASH if value is None else format_percent(value / 100, "#,##0.0%")


def target_text(threshold: float) -> str:
    """Return a target as resolutions write it, «tối thiểu 90%» (a decimal only if it has one)."""
    pattern = "#,##0%" if float(threshold).is_integer() else "#,##0.0%"
    return _("tối thiểu %(value)s", value=format_percent(threshold / 100, pattern))


def target_label(threshold: float | None) -> str:
    """Return «Chỉ tiêu tối thiểu 90%», or «Chưa có chỉ tiêu» when there is no target."""
    if threshold is None:
        return _("Chưa có chỉ tiêu")
    return _("Chỉ tiêu %(target)s", target=target_text(threshold))


def responses_text(n: int) -> str:
    """Return «1.234 phiếu» in the page's language."""
    return ngettext("%(count)s phiếu", "%(count)s phiếu", n, count=number(n))


def dossiers_text(n: int) -> str:
    """Return «1.234 hồ sơ»: dossiers received."""
    return ngettext("%(count)s hồ sơ", "%(count)s hồ sơ", n, count=number(n))


def answers_text(n: int) -> str:
    """Return «1.234 câu trả lời»: the n of a share of one question."""
    return ngettext("%(count)s câu trả lời", "%(count)s câu trả lời", n, count=number(n))


def interval_text(interval: tuple[float, float] | None) -> str:
    """Return a 95% interval as a range, «85,1% – 88,3%» (empty when there is none)."""
    if interval is None:
        return ""
    return _("%(low)s – %(high)s", low=percent(interval[0]), high=percent(interval[1]))



def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_label=role_label, level_label=level_label, spoken_text=spoken_text
    )
    app.jinja_env.filters["number"] = number
