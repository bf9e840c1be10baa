"""Words for the machine values people see: roles, agency levels, indicators, verdicts."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_decimal
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
    "sipas_index": _l("Chỉ số hài lòng kiểu SIPAS"),
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


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_label=role_label, level_label=level_label, spoken_text=spoken_text
    )
    app.jinja_env.filters["number"] = number
