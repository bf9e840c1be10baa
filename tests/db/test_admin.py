"""Administration pages: accounts, agencies, counters, sectors and the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Agency, AuditEvent, Counter, PasswordReset, Sector, User
from survey_app.services import admin as admin_services
from survey_app.services.targets import create_scope
from tests.factories import (
    BAD_REQUEST,
    NOT_FOUND,
    PASSWORD,
    REFUSED,
    audit_events,
    count_rows,
    create_agency,
    csrf_token,
    heading_of,
    hidden_value,
    make_user,
    sign_in,
    text_of,
    words_of,
)

ADMIN = "quantri@tinh.gov.vn"


def post(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client)})


@pytest.fixture
def place(app: Flask) -> dict[str, int]:
    """A province centre with one commune below it, one counter and an admin account."""
    with app.app_context():
        province = create_agency("TTHCC", "Trung tâm Phục vụ hành chính công tỉnh")
        commune = create_agency("XA_AN_PHU", "UBND xã An Phú", "commune", parent=province)
        counter = Counter(agency=province, name="Quầy 1")
        db.session.add(counter)
        db.session.flush()
        sector = db.session.scalar(select(Sector).where(Sector.code == "DAT_DAI"))
        assert sector is not None
        ids = {"province": province.id, "commune": commune.id, "counter": counter.id,
               "sector": sector.id}
        db.session.commit()
    ids["admin"] = make_user(app, ADMIN, "admin")
    return ids


@pytest.fixture
def admin(client: FlaskClient, place: dict[str, int]) -> FlaskClient:
    sign_in(client, ADMIN)
    return client


PAGES = [
    "/admin/users", "/admin/users/new", "/admin/users/{admin}", "/admin/agencies",
    "/admin/agencies/new", "/admin/agencies/{province}", "/admin/sectors",
    "/admin/sectors/{sector}", "/admin/audit",
]
POSTS = [
    "/admin/users/new", "/admin/users/{admin}", "/admin/users/{admin}/password",
    "/admin/users/{admin}/reset-link",
    "/admin/agencies/new", "/admin/agencies/{province}", "/admin/agencies/{province}/counters",
    "/admin/counters/{counter}", "/admin/sectors/{sector}",
]


# Who may enter -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_for_an_admin(admin, place, path):
    page = admin.get(path.format(**place))
    assert page.status_code == 200
    assert text_of(page).count("<h1") == 1


@pytest.mark.parametrize("role", ["manager", "staff"])
@pytest.mark.parametrize("path", PAGES)
def test_managers_and_staff_are_refused(app, client, place, role, path):
    make_user(app, f"{role}@tinh.gov.vn", role, "TTHCC")
    sign_in(client, f"{role}@tinh.gov.vn")
    page = client.get(path.format(**place))
    assert page.status_code == 403
    assert heading_of(page) == REFUSED
    assert ADMIN not in text_of(page)  # nothing of the page shows through


@pytest.mark.parametrize("role", ["manager", "staff"])
@pytest.mark.parametrize("path", POSTS)
def test_managers_and_staff_cannot_change_anything(app, client, place, role, path):
    make_user(app, f"{role}@tinh.gov.vn", role, "TTHCC")
    sign_in(client, f"{role}@tinh.gov.vn")
    data = {"email": "moi@tinh.gov.vn", "code": "MOI", "name": "Mới", "role": "admin",
            "level": "province", "password": PASSWORD, "label_vi": "X", "label_en": "X",
            "new_counter-name": "Quầy 9", f"counter-{place['counter']}-name": "Quầy 9"}
    assert post(client, path.format(**place), data).status_code == 403
    assert count_rows(app, select(User)) == 2
    assert count_rows(app, select(Counter).where(Counter.name == "Quầy 9")) == 0


@pytest.mark.parametrize("path", PAGES)
def test_visitors_are_sent_to_sign_in(client, place, path):
    page = client.get(path.format(**place))
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login")


def test_unknown_ids_are_not_found(admin):
    for path in ("/admin/users/999999", "/admin/agencies/999999", "/admin/sectors/999999"):
        page = admin.get(path)
        assert page.status_code == 404, path
        assert heading_of(page) == NOT_FOUND, path


def test_a_change_without_the_form_token_is_refused(app, admin):
    before = count_rows(app, select(Agency))
    page = admin.post("/admin/agencies/new",
                      data={"code": "MOI", "name": "Đơn vị mới", "level": "commune"})
    assert page.status_code == 400
    assert count_rows(app, select(Agency)) == before


# Accounts ----------------------------------------------------------------------------------


def test_users_list_shows_role_agency_and_status(app, admin):
    make_user(app, "canbo@tinh.gov.vn", "staff", "XA_AN_PHU")
    html = text_of(admin.get("/admin/users"))
    assert "canbo@tinh.gov.vn" in html
    assert "Cán bộ" in html and "UBND xã An Phú" in html
    assert "Đang hoạt động" in html
    assert "Chưa đăng nhập" in html  # the staff member never signed in


def test_admin_creates_an_account_and_it_is_logged(app, admin, place):
    page = post(admin, "/admin/users/new", {
        "email": " CanBo.Moi@Tinh.gov.vn ", "name": "Nguyễn Văn An", "role": "staff",
        "agency_id": str(place["commune"]), "password": PASSWORD,
    })
    assert page.status_code == 302
    assert "Đã tạo tài khoản canbo.moi@tinh.gov.vn." in text_of(admin.get(page.headers["Location"]))
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "canbo.moi@tinh.gov.vn"))
        assert user is not None
        assert (user.name, user.role, user.agency_id) == ("Nguyễn Văn An", "staff",
                                                          place["commune"])
    [entry] = audit_events(app, "user.created")[-1:]
    assert entry.actor_email == ADMIN
    assert entry.details["agency"] == "XA_AN_PHU"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": ADMIN.upper()}, "Email này đã có tài khoản."),
        ({"role": "staff", "agency_id": ""}, "Lãnh đạo và cán bộ cần thuộc một đơn vị."),
        ({"role": "manager", "agency_id": ""}, "Lãnh đạo và cán bộ cần thuộc một đơn vị."),
        ({"password": "ngan"}, "Mật khẩu cần ít nhất 10 ký tự."),
        ({"email": "khong-phai-email"}, "Địa chỉ email không hợp lệ."),
        ({"email": ""}, "Vui lòng nhập email."),
        ({"role": "superuser"}, "Vui lòng chọn một mục trong danh sách."),
    ],
)
def test_invalid_account_is_refused_with_a_message(app, admin, place, overrides, message):
    before = count_rows(app, select(User))
    data = {"email": "moi@tinh.gov.vn", "name": "", "role": "admin", "agency_id": "",
            "password": PASSWORD, **overrides}
    page = post(admin, "/admin/users/new", data)
    assert page.status_code == 400
    assert message in text_of(page)
    assert count_rows(app, select(User)) == before


def test_admin_edits_an_account_and_it_is_logged(app, admin, place):
    user_id = make_user(app, "canbo@tinh.gov.vn", "staff", "XA_AN_PHU")
    page = post(admin, f"/admin/users/{user_id}", {
        "name": "Trần Thị Bình", "role": "manager", "agency_id": str(place["province"]),
    })  # the box left unticked: the account is disabled
    assert page.status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        assert (user.name, user.role, user.agency_id, user.is_enabled) == (
            "Trần Thị Bình", "manager", place["province"], False)
    entry = audit_events(app, "user.updated")[-1]
    assert entry.actor_email == ADMIN
    assert entry.details["changes"]["is_enabled"] == [True, False]
    assert "Đã khóa" in text_of(admin.get("/admin/users"))


def test_editing_staff_to_have_no_agency_is_refused(app, admin, place):
    user_id = make_user(app, "canbo@tinh.gov.vn", "staff", "XA_AN_PHU")
    page = post(admin, f"/admin/users/{user_id}",
                {"name": "", "role": "staff", "agency_id": "", "is_enabled": "y"})
    assert page.status_code == 400
    assert "Lãnh đạo và cán bộ cần thuộc một đơn vị." in text_of(page)
    with app.app_context():
        assert db.session.get(User, user_id).agency_id == place["commune"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "admin"}, "Không thể tự khóa tài khoản của chính mình."),
        ({"role": "manager", "agency_id": "{province}", "is_enabled": "y"},
         "Không thể tự bỏ quyền quản trị của chính mình."),
    ],
)
def test_admin_cannot_disable_or_demote_themself(app, admin, place, data, message):
    data = {"name": "", "agency_id": "", **data}
    data["agency_id"] = data["agency_id"].format(**place)
    page = post(admin, f"/admin/users/{place['admin']}", data)
    assert page.status_code == 400
    assert message in text_of(page)
    with app.app_context():
        me = db.session.get(User, place["admin"])
        assert (me.role, me.is_enabled) == ("admin", True)
    assert audit_events(app, "user.updated") == []


def test_admin_may_rename_themself_and_stays_signed_in(app, admin, place):
    page = post(admin, f"/admin/users/{place['admin']}",
                {"name": "Quản trị tỉnh", "role": "admin", "agency_id": str(place["province"]),
                 "is_enabled": "y"})
    assert page.status_code == 302
    users = admin.get("/admin/users")  # still signed in: not sent to the sign-in page
    assert users.status_code == 200
    assert heading_of(users) == "Tài khoản"
    assert "Quản trị tỉnh" in words_of(users)


def test_admin_resets_a_password(app, admin, client, place):
    user_id = make_user(app, "canbo@tinh.gov.vn", "staff", "XA_AN_PHU")
    page = post(admin, f"/admin/users/{user_id}/password", {"password": "mat-khau-moi-2025"})
    assert page.status_code == 302
    assert audit_events(app, "user.password_reset")[-1].actor_email == ADMIN

    other = app.test_client()
    sign_in(other, "canbo@tinh.gov.vn", "mat-khau-moi-2025")


def test_short_reset_password_is_refused(app, admin, place):
    user_id = make_user(app, "canbo@tinh.gov.vn", "staff", "XA_AN_PHU")
    page = post(admin, f"/admin/users/{user_id}/password", {"password": "ngan"})
    assert page.status_code == 400
    assert "Mật khẩu cần ít nhất 10 ký tự." in text_of(page)
    assert audit_events(app, "user.password_reset") == []
    sign_in(app.test_client(), "canbo@tinh.gov.vn", PASSWORD)


def must_change_password(app: Flask, user_id: int) -> bool:
    with app.app_context():
        return db.session.get(User, user_id).must_change_password


def test_a_password_an_admin_chose_is_replaced_at_the_first_sign_in(app, admin, place):
    post(admin, "/admin/users/new", {"email": "moi@tinh.gov.vn", "role": "staff",
                                     "agency_id": str(place["commune"]), "password": PASSWORD})
    user_id = make_user(app, "cu@tinh.gov.vn", "staff", "XA_AN_PHU")
    post(admin, f"/admin/users/{user_id}/password", {"password": "mat-khau-moi-2025"})
    for email, password in (("moi@tinh.gov.vn", PASSWORD), ("cu@tinh.gov.vn", "mat-khau-moi-2025")):
        other = app.test_client()
        sign_in(other, email, password)
        assert other.get("/manage/").headers["Location"] == "/account/password"
    assert must_change_password(app, user_id)
    assert "Chờ đổi mật khẩu" in text_of(admin.get("/admin/users"))


def test_an_admin_setting_their_own_password_is_not_asked_again(app, admin, place):
    page = post(admin, f"/admin/users/{place['admin']}/password", {"password": "mat-khau-moi-2025"})
    assert page.status_code == 302
    assert not must_change_password(app, place["admin"])
    users = admin.get("/admin/users")  # not held at the password page
    assert users.status_code == 200 and heading_of(users) == "Tài khoản"


RESET_LINK = re.compile(r'<code id="reset-link">(http://survey\.test/reset/[A-Za-z0-9_-]{43})</code>')


def test_admin_issues_a_reset_link_shown_once(app, admin, place):
    user_id = make_user(app, "canbo@tinh.gov.vn", "staff", "XA_AN_PHU")
    page = post(admin, f"/admin/users/{user_id}/reset-link", {})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = text_of(page)
    match = RESET_LINK.search(html)
    assert match, html
    link = match.group(1)
    assert "hết hạn lúc" in html
    assert link not in text_of(admin.get(f"/admin/users/{user_id}"))  # once only
    [entry] = audit_events(app, "password.reset_link_created")
    assert entry.actor_email == ADMIN
    assert link.rsplit("/", 1)[1] not in str(entry.details)
    with app.app_context():
        [stored] = db.session.scalars(select(PasswordReset))
        assert stored.user_id == user_id
        assert link.rsplit("/", 1)[1] not in stored.token_hash

    path = link.removeprefix("http://survey.test")
    person = app.test_client()
    token = hidden_value(text_of(person.get(path)), "csrf_token")
    done = person.post(path, data={"csrf_token": token, "new_password": "mat-khau-cua-toi",
                                   "confirm": "mat-khau-cua-toi"})
    assert done.status_code == 302
    sign_in(person, "canbo@tinh.gov.vn", "mat-khau-cua-toi")
    assert person.get("/manage/").status_code == 200


def test_a_reset_link_needs_the_form_token_and_an_enabled_account(app, admin, place):
    user_id = make_user(app, "canbo@tinh.gov.vn", "staff", "XA_AN_PHU")
    assert admin.post(f"/admin/users/{user_id}/reset-link").status_code == 400
    with app.app_context():
        db.session.get(User, user_id).is_enabled = False
        db.session.commit()
    page = post(admin, f"/admin/users/{user_id}/reset-link", {})
    assert page.status_code == 302
    assert "Tài khoản đang bị khóa" in text_of(admin.get(page.headers["Location"]))
    assert audit_events(app, "password.reset_link_created") == []
    assert post(admin, "/admin/users/999999/reset-link", {}).status_code == 404


# Agencies and counters ---------------------------------------------------------------------


def test_agencies_list_shows_level_parent_and_counters(admin):
    html = text_of(admin.get("/admin/agencies"))
    commune_row = next(row for row in html.split("<tr>") if "XA_AN_PHU" in row)
    assert "Cấp xã" in commune_row
    assert "Trung tâm Phục vụ hành chính công tỉnh" in commune_row  # its parent
    province_row = next(row for row in html.split("<tr>") if ">TTHCC<" in row)
    assert '<td class="num">1</td>' in province_row  # one counter
    assert 'href="/admin/agencies/new"' in html


def test_admin_creates_an_agency_and_it_is_logged(app, admin, place):
    page = post(admin, "/admin/agencies/new", {
        "code": " so-tnmt ", "name": "Sở Tài nguyên và Môi trường", "level": "province",
        "parent_id": "",
    })
    assert page.status_code == 302
    with app.app_context():
        agency = db.session.scalar(select(Agency).where(Agency.code == "SO-TNMT"))
        assert agency is not None
        assert (agency.name, agency.level, agency.parent_id) == (
            "Sở Tài nguyên và Môi trường", "province", None)
        assert page.headers["Location"] == f"/admin/agencies/{agency.id}"
    entry = audit_events(app, "agency.created")[-1]
    assert entry.actor_email == ADMIN
    assert entry.details["code"] == "SO-TNMT"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("tthcc", "Mã đơn vị này đã được dùng cho một đơn vị khác."),
        ("SỞ TN", "Mã đơn vị chỉ gồm chữ in hoa không dấu, chữ số, dấu - và dấu _."),
        ("   ", "Vui lòng nhập mã đơn vị."),
    ],
)
def test_invalid_agency_code_is_refused(app, admin, code, message):
    before = count_rows(app, select(Agency))
    page = post(admin, "/admin/agencies/new",
                {"code": code, "name": "Đơn vị mới", "level": "commune", "parent_id": ""})
    assert page.status_code == 400
    assert message in text_of(page)
    assert count_rows(app, select(Agency)) == before
    assert audit_events(app, "agency.created") == []


def test_admin_edits_an_agency_and_it_is_logged(app, admin, place):
    page = post(admin, f"/admin/agencies/{place['commune']}", {
        "code": "XA_AN_PHU", "name": "UBND phường An Phú", "level": "commune",
        "parent_id": "",
    })
    assert page.status_code == 302
    with app.app_context():
        agency = db.session.get(Agency, place["commune"])
        assert (agency.name, agency.parent_id) == ("UBND phường An Phú", None)
    changes = audit_events(app, "agency.updated")[-1].details["changes"]
    assert changes == {"name": ["UBND xã An Phú", "UBND phường An Phú"],
                       "parent_id": [place["province"], None]}


def test_admin_sets_an_agency_s_hotline_and_it_is_logged(app, admin, place):
    form = {"code": "XA_AN_PHU", "name": "UBND xã An Phú", "level": "commune",
            "parent_id": str(place["province"])}
    page_html = text_of(admin.get(f"/admin/agencies/{place['commune']}"))
    assert "Đường dây nóng tiếp nhận phản ánh" in page_html and 'name="hotline"' in page_html
    page = post(admin, f"/admin/agencies/{place['commune']}", {
        **form, "hotline": "  0233  3852.111 ", "hotline_note": " Văn phòng UBND xã "})
    assert page.status_code == 302
    with app.app_context():
        agency = db.session.get(Agency, place["commune"])
        assert (agency.hotline, agency.hotline_note) == ("0233 3852.111", "Văn phòng UBND xã")
    changes = audit_events(app, "agency.updated")[-1].details["changes"]
    assert changes == {"hotline": [None, "0233 3852.111"],
                       "hotline_note": [None, "Văn phòng UBND xã"]}
    cleared = post(admin, f"/admin/agencies/{place['commune']}",
                   {**form, "hotline": "", "hotline_note": ""})
    assert cleared.status_code == 302
    with app.app_context():
        assert db.session.get(Agency, place["commune"]).hotline is None


@pytest.mark.parametrize(
    ("hotline", "note", "message"),
    [
        ("gọi 0233", "", "Số điện thoại chỉ gồm chữ số"),
        ("12", "", "Số điện thoại chỉ gồm chữ số"),
        ("0233--3852", "", "Số điện thoại chỉ gồm chữ số"),
        ("0" * 21, "", "Số điện thoại dài quá 20 ký tự."),
        ("", "Giờ hành chính", "Vui lòng nhập số đường dây nóng cho ghi chú này."),
        ("1022", "x" * 121, "Ghi chú dài quá 120 ký tự."),
    ],
)
def test_a_hotline_that_cannot_be_dialled_is_refused(app, admin, place, hotline, note, message):
    page = post(admin, f"/admin/agencies/{place['commune']}", {
        "code": "XA_AN_PHU", "name": "UBND xã An Phú", "level": "commune",
        "parent_id": str(place["province"]), "hotline": hotline, "hotline_note": note})
    assert page.status_code == 400
    assert message in text_of(page)
    with app.app_context():
        assert db.session.get(Agency, place["commune"]).hotline is None
    assert audit_events(app, "agency.updated") == []


@pytest.mark.parametrize("parent", ["province", "commune"])
def test_agency_cannot_sit_below_itself_or_its_descendant(app, admin, place, parent):
    page = post(admin, f"/admin/agencies/{place['province']}", {
        "code": "TTHCC", "name": "Trung tâm", "level": "province",
        "parent_id": str(place[parent]),
    })
    assert page.status_code == 400
    assert "làm đơn vị theo dõi" in text_of(page)
    with app.app_context():
        agency = db.session.get(Agency, place["province"])
        assert (agency.name, agency.parent_id) == ("Trung tâm Phục vụ hành chính công tỉnh", None)
    assert audit_events(app, "agency.updated") == []


def test_agency_page_lists_its_counters(admin, place):
    html = text_of(admin.get(f"/admin/agencies/{place['province']}"))
    assert "Quầy 1" in html
    assert f'action="/admin/counters/{place["counter"]}"' in html
    assert f'action="/admin/agencies/{place["province"]}/counters"' in html


def test_admin_adds_a_counter_and_it_is_logged(app, admin, place):
    page = post(admin, f"/admin/agencies/{place['commune']}/counters",
                {"new_counter-name": "  Quầy Đất đai "})
    assert page.status_code == 302
    assert count_rows(app, select(Counter).where(Counter.agency_id == place["commune"],
                                            Counter.name == "Quầy Đất đai")) == 1
    entry = audit_events(app, "counter.created")[-1]
    assert (entry.actor_email, entry.details) == (ADMIN, {"agency": "XA_AN_PHU",
                                                         "name": "Quầy Đất đai"})


def test_duplicate_counter_name_in_one_agency_is_refused(app, admin, place):
    page = post(admin, f"/admin/agencies/{place['province']}/counters",
                {"new_counter-name": "Quầy 1"})
    assert page.status_code == 400
    assert "Đơn vị này đã có một quầy cùng tên." in text_of(page)
    assert count_rows(app, select(Counter).where(Counter.agency_id == place["province"])) == 1
    # Another agency may have a counter of the same name.
    page = post(admin, f"/admin/agencies/{place['commune']}/counters",
                {"new_counter-name": "Quầy 1"})
    assert page.status_code == 302


def test_duplicate_counter_slipping_past_the_check_is_still_refused(app, admin, place,
                                                                   monkeypatch):
    # Two admins adding the same counter at once: the unique constraint decides.
    monkeypatch.setattr(admin_services, "_counter_named", lambda *args: None)
    page = post(admin, f"/admin/agencies/{place['province']}/counters",
                {"new_counter-name": "Quầy 1"})
    assert page.status_code == 400
    assert "Đơn vị này đã có một quầy cùng tên." in text_of(page)
    assert count_rows(app, select(Counter).where(Counter.agency_id == place["province"])) == 1
    assert audit_events(app, "counter.created") == []


def test_admin_renames_a_counter_and_it_is_logged(app, admin, place):
    field = f"counter-{place['counter']}-name"
    page = post(admin, f"/admin/counters/{place['counter']}", {field: "Quầy Một cửa"})
    assert page.status_code == 302
    with app.app_context():
        assert db.session.get(Counter, place["counter"]).name == "Quầy Một cửa"
    assert audit_events(app, "counter.updated")[-1].details == {
        "changes": {"name": ["Quầy 1", "Quầy Một cửa"]}}


def test_renaming_a_counter_to_a_taken_name_is_refused(app, admin, place):
    with app.app_context():
        db.session.add(Counter(agency_id=place["province"], name="Quầy 2"))
        db.session.commit()
    field = f"counter-{place['counter']}-name"
    page = post(admin, f"/admin/counters/{place['counter']}", {field: "Quầy 2"})
    assert page.status_code == 400
    assert "Đơn vị này đã có một quầy cùng tên." in text_of(page)
    with app.app_context():
        assert db.session.get(Counter, place["counter"]).name == "Quầy 1"


# Sectors -----------------------------------------------------------------------------------


def sector_rows(html: str) -> dict[str, tuple[str, str]]:
    """Return the sectors list as {code: (labels, target scopes)}, as the page shows them."""
    rows = re.findall(r'<td class="code">(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>', html,
                      re.S)

    def shown(cell: str) -> str:
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())

    return {shown(code).replace(" ", ""): (shown(labels), shown(scopes))
            for code, labels, scopes in rows}


def test_sectors_list_shows_labels_and_target_scopes(admin):
    html = text_of(admin.get("/admin/sectors"))
    rows = sector_rows(html)
    assert len(rows) == 24
    assert rows["DAT_DAI"] == ("Đất đai Land", "Đất đai; Đất đai, xây dựng, đầu tư (gộp)")
    assert rows["QH_KT"][1] == "Xây dựng; Đất đai, xây dựng, đầu tư (gộp)"
    assert rows["HO_TICH"] == ("Hộ tịch Civil status", "—")  # in no scope but all sectors
    assert 'href="/admin/targets/scopes"' in html


def test_sector_pages_show_a_scope_added_later(app, admin, place):
    with app.app_context():
        health = db.session.scalar(select(Sector).where(Sector.code == "Y_TE"))
        assert health is not None
        create_scope(db.session, "Y_TE", "Y tế", "Health", [health])
        db.session.commit()
        health_id = health.id
    assert sector_rows(text_of(admin.get("/admin/sectors")))["Y_TE"][1] == "Y tế"
    html = text_of(admin.get(f"/admin/sectors/{health_id}"))
    assert re.search(r"lĩnh vực này được tính gộp vào:</p>\s*<ul><li>Y tế</li></ul>", html)
    assert 'href="/admin/targets/scopes"' in html


def test_admin_edits_a_sector_but_not_its_code(app, admin, place):
    html = text_of(admin.get(f"/admin/sectors/{place['sector']}"))
    assert "<li>Đất đai</li><li>Đất đai, xây dựng, đầu tư (gộp)</li>" in html
    page = post(admin, f"/admin/sectors/{place['sector']}", {
        "code": "DAT", "label_vi": "Đất đai và nhà ở", "label_en": "Land and housing",
    })
    assert page.status_code == 302
    with app.app_context():
        sector = db.session.get(Sector, place["sector"])
        assert (sector.code, sector.label_vi, sector.label_en) == (
            "DAT_DAI", "Đất đai và nhà ở", "Land and housing")
    entry = audit_events(app, "sector.updated")[-1]
    assert entry.actor_email == ADMIN
    assert entry.details["changes"] == {"label_vi": ["Đất đai", "Đất đai và nhà ở"],
                                        "label_en": ["Land", "Land and housing"]}


def test_sector_without_labels_is_refused(app, admin, place):
    page = post(admin, f"/admin/sectors/{place['sector']}",
                {"label_vi": " ", "label_en": "Land"})
    assert page.status_code == 400
    assert "Vui lòng nhập tên tiếng Việt." in text_of(page)
    assert audit_events(app, "sector.updated") == []


# Audit log ---------------------------------------------------------------------------------


def add_event(app: Flask, action: str, at: datetime, actor_email: str | None = None,
              **details: Any) -> None:
    with app.app_context():
        db.session.add(AuditEvent(action=action, at=at, actor_email=actor_email,
                                  details=details, address_hash="abcdef0123456789"))
        db.session.commit()


def rows_of(html: str) -> int:
    return html.count("<tr>") - 1  # minus the header row


def test_audit_log_shows_newest_first_with_short_address_hash(app, admin):
    add_event(app, "test.older", datetime(2025, 1, 1, tzinfo=UTC), "a@tinh.gov.vn")
    add_event(app, "test.newer", datetime(2025, 1, 2, tzinfo=UTC), "b@tinh.gov.vn")
    html = text_of(admin.get("/admin/audit"))
    assert html.index("test.newer") < html.index("test.older")
    assert "abcdef0123" in html and "abcdef01234" not in html
    assert "02/01/2025 07:00" in html  # local time, UTC+7


def test_audit_filters_narrow_the_list(app, admin):
    start = datetime(2025, 3, 31, 17, 30, tzinfo=UTC)  # 1 April 2025, 00:30 local time
    add_event(app, "test.alpha", start, "lan@tinh.gov.vn")
    add_event(app, "test.alpha", start - timedelta(hours=1), "minh@tinh.gov.vn")
    add_event(app, "test.beta", start, "lan@tinh.gov.vn")

    html = text_of(admin.get("/admin/audit?action=test.alpha"))
    assert html.count("<td class=\"audit-action\">test.alpha</td>") == 2
    assert "<td class=\"audit-action\">test.beta</td>" not in html
    assert '<option value="test.beta">' in html  # every logged action can be chosen

    html = text_of(admin.get("/admin/audit?action=test.alpha&actor=LAN%40"))
    assert rows_of(html) == 1 and "lan@tinh.gov.vn" in html

    html = text_of(admin.get("/admin/audit?action=test.alpha&date_from=2025-04-01"))
    assert rows_of(html) == 1 and "minh@tinh.gov.vn" not in html
    html = text_of(admin.get("/admin/audit?action=test.alpha&date_to=2025-03-31"))
    assert rows_of(html) == 1 and "minh@tinh.gov.vn" in html
    html = text_of(admin.get("/admin/audit?actor=%25"))
    assert "Không có mục nào khớp với bộ lọc." in html  # % is a character, not a wildcard


def test_audit_filter_reads_dates_as_typed_and_shows_them_back(admin):
    page = admin.get("/admin/audit?date_from=01/04/2025&date_to=2025-04-30")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="01/04/2025"' in html and 'value="30/04/2025"' in html


def test_audit_filter_with_a_wrong_date_says_so(admin):
    page = admin.get("/admin/audit?date_from=2025/03/31")
    assert page.status_code == 400
    assert "Vui lòng viết ngày theo dạng ngày/tháng/năm, ví dụ 31/03/2025." in text_of(page)
    page = admin.get("/admin/audit?date_from=2025-04-02&date_to=2025-04-01")
    assert page.status_code == 400
    assert "Ngày kết thúc cần sau hoặc trùng ngày bắt đầu." in text_of(page)


def test_audit_log_pages_by_fifty(app, admin):
    start = datetime(2024, 6, 1, tzinfo=UTC)
    with app.app_context():
        for i in range(60):
            db.session.add(AuditEvent(action="test.bulk", at=start + timedelta(minutes=i),
                                      details={"i": i}))
        db.session.commit()
    first = text_of(admin.get("/admin/audit?action=test.bulk"))
    assert rows_of(first) == 50
    assert "page=2" in first and 'rel="prev"' not in first
    second = text_of(admin.get("/admin/audit?action=test.bulk&page=2"))
    assert rows_of(second) == 10
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "action=test.bulk" in second.split('rel="prev"')[0].rsplit("href=", 1)[1]


def test_audit_log_escapes_details(app, admin):
    add_event(app, "test.xss", datetime(2025, 1, 1, tzinfo=UTC),
              note="<script>alert('x')</script>", place="Quầy 1")
    html = text_of(admin.get("/admin/audit?action=test.xss"))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Quầy 1" in html  # Vietnamese stays readable


def test_audit_log_speaks_in_words(app, admin):
    at = datetime(2025, 1, 1, tzinfo=UTC)
    add_event(app, "code.created", at, code="ABCD2345", agency="UBND-X", counter="Quầy 1",
              sector="DD")
    add_event(app, "target.updated", at, year=2025, changes={"overall:DD": [85.0, 86.0]})
    add_event(app, "export.downloaded", at, kind="tallies.xlsx", filters={}, rows=120)
    add_event(app, "user.updated", at, changes={"role": ["staff", "manager"],
                                                "is_enabled": [True, False]})
    add_event(app, "test.unknown", at, colour="xanh", sizes=[1, 2])
    html = text_of(admin.get("/admin/audit"))
    assert "Cấp mã QR" in html and "Mã: ABCD2345; Đơn vị: UBND-X; Quầy: Quầy 1" in html
    assert "Ngưỡng Hài lòng về giải quyết TTHC của DD: 85 → 86" in html
    assert "Tải tệp: tallies.xlsx, 120 dòng" in html
    assert "Vai trò: Cán bộ → Lãnh đạo, quản lý; Đang hoạt động: có → không" in html
    assert "colour: xanh; sizes: 1, 2" in html
    assert "code.created" not in html.split("</select>", 1)[1]
    assert '{"' not in html and "{&#34;" not in html
    assert '<option value="code.created">Cấp mã QR</option>' in html
    # The page says whose actions it holds: every role's, and the server's own commands.
    intro = html.split("<h1>", 1)[1].split('<form method="get"', 1)[0]
    for who in ("mọi tài khoản", "quản trị viên", "lãnh đạo, quản lý", "cán bộ",
                "lệnh trên máy chủ"):
        assert who in intro
    assert "Địa chỉ IP (mã băm)" in html


def test_audit_log_cannot_be_changed(app, admin):
    before = [event.id for event in audit_events(app)]
    refused = post(admin, "/admin/audit", {})
    assert refused.status_code == 405
    assert heading_of(refused) == BAD_REQUEST
    assert [event.id for event in audit_events(app)] == before

