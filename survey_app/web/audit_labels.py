"""Words for the audit log: each action's name and its details as a sentence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from survey_app.web.labels import INDICATOR_LABELS, level_label, number, role_label

ACTION_LABELS = {
    "user.created": _l("Tạo tài khoản"),
    "user.updated": _l("Sửa tài khoản"),
    "user.password_changed": _l("Tự đổi mật khẩu"),
    "password.reset_link_created": _l("Tạo liên kết đặt lại mật khẩu"),
    "password.reset_used": _l("Đặt lại mật khẩu bằng liên kết"),
    "user.password_reset": _l("Đặt lại mật khẩu"),
    "login.success": _l("Đăng nhập"),
    "login.failure": _l("Đăng nhập không thành công"),
    "login.refused": _l("Từ chối đăng nhập (tạm khóa)"),
    "logout": _l("Đăng xuất"),
    "login.password_accepted": _l("Đúng mật khẩu, chờ mã xác thực hai bước"),
    "login.second_factor_ok": _l("Nhập đúng mã xác thực hai bước"),
    "login.second_factor_failed": _l("Nhập sai mã xác thực hai bước"),
    "login.recovery_code_used": _l("Dùng mã khôi phục để đăng nhập"),
    "second_factor.enrolled": _l("Bật xác thực hai bước"),
    "second_factor.enrol_failed": _l("Bật xác thực hai bước không thành công (sai mã)"),
    "second_factor.reset": _l("Đặt lại xác thực hai bước"),
    "second_factor.recovery_codes_renewed": _l("Tạo bộ mã khôi phục mới"),
    "session.expired": _l("Phiên đăng nhập hết hạn"),
    "token.created": _l("Cấp mã truy cập API"),
    "token.revoked": _l("Thu hồi mã truy cập API"),
    "agency.created": _l("Thêm đơn vị"),
    "agency.updated": _l("Sửa đơn vị"),
    "agency.imported": _l("Nhập danh sách đơn vị"),
    "counter.created": _l("Thêm quầy"),
    "counter.updated": _l("Sửa quầy"),
    "sector.updated": _l("Sửa lĩnh vực"),
    "code.created": _l("Cấp mã QR"),
    "code.revoked": _l("Thu hồi mã QR"),
    "receipt_key.created": _l("Tạo khóa ký liên kết biên nhận"),
    "receipt_key.retired": _l("Thu hồi khóa ký liên kết biên nhận"),
    "receipts.minted": _l("Cấp liên kết đánh giá trên biên nhận"),
    "target.created": _l("Đặt chỉ tiêu năm"),
    "target.updated": _l("Sửa chỉ tiêu năm"),
    "target_scope.created": _l("Thêm nhóm chỉ tiêu"),
    "target_scope.updated": _l("Sửa nhóm chỉ tiêu"),
    "export.downloaded": _l("Tải dữ liệu"),
    "response.flagged": _l("Đánh dấu phiếu cần xem xét"),
    "response.restored": _l("Tính lại phiếu"),
    "data.purged": _l("Xóa dữ liệu quá hạn lưu"),
    "volumes.imported": _l("Nhập số hồ sơ tiếp nhận"),
    "alert.acknowledged": _l("Tiếp nhận cảnh báo"),
    "alert.closed": _l("Đóng cảnh báo"),
    "alert_rule.updated": _l("Sửa quy tắc cảnh báo"),
    "alert_preference.updated": _l("Đổi cách nhận cảnh báo qua email"),
    "seals.appended": _l("Niêm phong số liệu ngày"),
    "board.published": _l("Công khai số liệu của đơn vị"),
    "board.unpublished": _l("Thôi công khai số liệu của đơn vị"),
    "voice.upload": _l("Thay đoạn ghi âm đọc câu hỏi"),
    "voice.revert": _l("Dùng lại đoạn ghi âm tự tạo"),
}

# The names of the details' keys, and of the fields a "changes" entry speaks of.
FIELD_LABELS = {
    "email": _l("Email"),
    "role": _l("Vai trò"),
    "agency": _l("Đơn vị"),
    "agency_id": _l("Đơn vị (số)"),
    "name": _l("Tên"),
    "is_enabled": _l("Đang hoạt động"),
    "code": _l("Mã"),
    "level": _l("Cấp"),
    "parent": _l("Đơn vị cấp trên"),
    "parent_id": _l("Đơn vị cấp trên (số)"),
    "hotline": _l("Số điện thoại đường dây nóng"),
    "hotline_note": _l("Ghi chú về đường dây nóng"),
    "counter": _l("Quầy"),
    "sector": _l("Lĩnh vực"),
    "sectors": _l("Lĩnh vực"),
    "replaced_by": _l("Thay bằng mã"),
    "label_vi": _l("Tên tiếng Việt"),
    "label_en": _l("Tên tiếng Anh"),
    "year": _l("Năm"),
    "min_sample": _l("Cỡ mẫu tối thiểu"),
    "owner": _l("Chủ tài khoản"),
    "reason": _l("Lý do"),
    "email_hash": _l("Tài khoản (mã băm)"),
    "kind": _l("Tệp"),
    "filters": _l("Bộ lọc"),
    "rows": _l("Số dòng"),
    "from": _l("Từ ngày"),
    "sequence": _l("Số thứ tự"),
    "day": _l("Ngày"),
    "digest": _l("Mã băm"),
    "appended": _l("Số lần niêm phong thêm"),
    "to": _l("Đến ngày"),
    "file": _l("Tệp"),
    "created": _l("Thêm mới"),
    "updated": _l("Cập nhật"),
    "unchanged": _l("Giữ nguyên"),
    "old_status": _l("Trạng thái cũ"),
    "old_reason": _l("Lý do cũ"),
    "new_status": _l("Trạng thái mới"),
    "new_reason": _l("Lý do mới"),
    "note": _l("Ghi chú"),
    "retention_days": _l("Số ngày lưu"),
    "cutoff": _l("Xóa trước ngày"),
    "cleared": _l("Đã xóa"),
    "login_failures_deleted": _l("Lần đăng nhập sai đã xóa"),
    "links": _l("Số liên kết"),
    "via": _l("Cấp qua"),
    "received": _l("Số hồ sơ tiếp nhận"),
    "rule": _l("Quy tắc cảnh báo"),
    "count": _l("Số phiếu trong một ngày"),
    "days": _l("Số ngày gần nhất được xét"),
    "delivery": _l("Nhận cảnh báo qua email"),
    "version": _l("Phiên bản phiếu"),
    "question": _l("Câu hỏi"),
    "size": _l("Dung lượng (byte)"),
    "type": _l("Định dạng"),
    "operator": _l("Người chạy lệnh trên máy chủ"),
    "expires_at": _l("Hết hạn lúc"),
    "signed_in_at": _l("Đăng nhập lúc"),
    "last_seen_at": _l("Hoạt động gần nhất lúc"),
    "left": _l("Số mã khôi phục còn lại"),
    "step": _l("Bước"),
    "during": _l("Khi"),
}

LOGIN_FAILURE_REASONS = {
    "unknown_account": _l("tài khoản không tồn tại"),
    "disabled": _l("tài khoản đã bị khóa"),
    "password": _l("sai mật khẩu"),
    "idle": _l("lâu không dùng"),
    "lifetime": _l("quá thời gian tối đa của một phiên"),
    "second_factor": _l("mã xác thực hai bước"),
    "recovery_codes": _l("tạo mã khôi phục mới"),
}
RESPONSE_STATUSES = {"counted": _l("được tính"), "flagged": _l("cần xem xét")}


def action_label(action: str) -> str:
    """Return an action's name in words; an unknown action keeps its own name."""
    return str(ACTION_LABELS.get(action, action))


def action_choices(actions: list[str]) -> list[tuple[str, str]]:
    """Return the (value, name) pairs of a filter, sorted by name."""
    return sorted(((action, action_label(action)) for action in actions), key=lambda c: c[1])


def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key))


def value_text(value: Any) -> str:
    """Return one value in words: no braces, no quotes, numbers for the page's language."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("có") if value else _("không")
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list | tuple):
        return ", ".join(value_text(item) for item in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{field_label(str(k))}: {value_text(v)}" for k, v in value.items())
    return str(value)


def _threshold_name(key: str) -> str:
    """Name the target "indicator:scope" as «Ngưỡng <indicator> của <scope>»."""
    indicator, _sep, scope = key.partition(":")
    if not scope:
        return field_label(key)
    return _("Ngưỡng %(indicator)s của %(scope)s",
             indicator=INDICATOR_LABELS.get(indicator, indicator), scope=scope)


def _field_value(key: str, value: Any) -> str:
    if key == "role" and isinstance(value, str):
        return role_label(value)
    if key == "level" and isinstance(value, str):
        return level_label(value)
    if key in ("reason", "step", "during") and isinstance(value, str):
        return str(LOGIN_FAILURE_REASONS.get(value, value))
    if key in ("old_status", "new_status") and isinstance(value, str):
        return str(RESPONSE_STATUSES.get(value, value))
    return value_text(value)


def _changes(changes: Mapping[str, Any]) -> list[str]:
    parts = []
    for key, pair in changes.items():
        name = _threshold_name(key) if ":" in key else field_label(key)
        if isinstance(pair, list | tuple) and len(pair) == 2:
            old, new = (_field_value(key, v) for v in pair)
            parts.append(f"{name}: {old} → {new}")
        else:
            parts.append(f"{name}: {_field_value(key, pair)}")
    return parts


def _pairs(details: Mapping[str, Any]) -> list[str]:
    parts = []
    for key, value in details.items():
        if key == "changes" and isinstance(value, Mapping):
            parts.extend(_changes(value))
        elif key == "values" and isinstance(value, Mapping):
            parts.extend(f"{_threshold_name(k)}: {value_text(v)}" for k, v in value.items())
        elif value is not None:
            parts.append(f"{field_label(key)}: {_field_value(key, value)}")
    return parts


def _export(details: Mapping[str, Any]) -> list[str]:
    file = details.get("kind") or "—"
    rows = details.get("rows")
    parts = [_("Tải tệp: %(file)s", file=file) if rows is None else
             _("Tải tệp: %(file)s, %(rows)s dòng", file=file, rows=number(rows))]
    if details.get("filters"):
        parts.append(f"{field_label('filters')}: {value_text(details['filters'])}")
    return parts


SPECIAL: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {"export.downloaded": _export}


def describe(action: str, details: Mapping[str, Any] | None) -> str:
    """Return an event's details as words, «key: value» pairs for anything not known."""
    if not details:
        return ""
    parts = SPECIAL.get(action, _pairs)(details)
    return "; ".join(parts)
