"""Words for the machine values people see: roles, agency levels, target groups."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"admin": _l("Quản trị"), "manager": _l("Lãnh đạo, quản lý"), "staff": _l("Cán bộ")}
LEVEL_LABELS = {"province": _l("Cấp tỉnh"), "commune": _l("Cấp xã")}
TARGET_GROUP_LABELS = {
    "LAND": _l("Đất đai"),
    "CONSTRUCTION": _l("Xây dựng"),
    "INVESTMENT": _l("Đầu tư"),
}
# The scopes of reports.SCOPES.
SCOPE_LABELS = {
    "all": _l("Tất cả lĩnh vực"),
    **TARGET_GROUP_LABELS,
    "LAND_CONSTRUCTION_INVESTMENT": _l("Đất đai, xây dựng, đầu tư (gộp)"),
}
ELEMENT_LABELS = {
    "q1": _l("Tiếp cận dịch vụ"),
    "q2": _l("Thủ tục hành chính"),
    "q3": _l("Công chức trực tiếp giải quyết công việc"),
    "q4": _l("Kết quả giải quyết"),
    "q5": _l("Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị"),
}
# The values of sipas.Status.
STATUS_LABELS = {"met": _l("Đạt"), "below": _l("Chưa đạt"), "insufficient": _l("Chưa đủ mẫu")}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def level_label(level: str) -> str:
    return str(LEVEL_LABELS.get(level, level))


def target_group_label(group: str | None) -> str:
    return str(TARGET_GROUP_LABELS[group]) if group in TARGET_GROUP_LABELS else "—"


def number(value: float | int) -> str:
    """Format a number for the page's language: 1.234 in Vietnamese, 1,234 in English."""
    return format_decimal(value)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_label=role_label, level_label=level_label, target_group_label=target_group_label
    )
    app.jinja_env.filters["number"] = number
