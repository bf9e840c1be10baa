"""The signed-in pages in Chromium: an admin at work, and axe-core on every kind of page.

The citizen's pages are checked in tests/test_browser.py, the dashboard in
tests/test_dashboard_browser.py and the print pages in tests/test_print_browser.py; this
module walks every other page a person can reach, as the least privileged person who may
open it (the routes are those of tests/test_access_matrix.py). One live server over the demo
data and one Chromium serve the whole run (tests/conftest.py). Without Chromium, Playwright
or axe-playwright-python the module is skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser_support import LiveServer, assert_no_axe_violations, require

sync_api, _axe = require("playwright.sync_api", "axe_playwright_python.sync_playwright")

pytestmark = pytest.mark.browser

expect = sync_api.expect

NEW_USERS = itertools.count(1)


@pytest.fixture(scope="module")
def ids(live_server: LiveServer) -> dict[str, Any]:
    return demo_ids(live_server)


@pytest.fixture(scope="module")
def page_of(
    browser: Any, signed_in_state: Callable[[str], dict[str, Any]]
) -> Iterator[Callable[[str | None], Any]]:
    """One page per person for the whole walk: opening a context per page costs time."""
    from tests.browser_support import LAPTOP, TIMEOUT_MS

    pages: dict[str | None, Any] = {}

    def page(persona: str | None) -> Any:
        if persona not in pages:
            state = {"storage_state": signed_in_state(persona)} if persona else {}
            context = browser.new_context(**LAPTOP, **state)
            context.set_default_timeout(TIMEOUT_MS)
            pages[persona] = context.new_page()
        return pages[persona]

    yield page
    for opened in pages.values():
        opened.context.close()


def demo_ids(server: LiveServer) -> dict[str, Any]:
    """Ids the page addresses need: a commune, its counter and code, a user, a sector."""
    from survey_app.extensions import db
    from survey_app.models import Agency, Sector, SurveyCode, User

    with server.app.app_context():
        session = db.session
        commune = session.scalar(select(Agency).where(Agency.code == "DEMO-P-DONGHA"))
        assert commune is not None
        code = session.scalar(
            select(SurveyCode)
            .where(SurveyCode.agency_id == commune.id, SurveyCode.revoked_at.is_(None))
            .order_by(SurveyCode.id)
        )
        user = session.scalar(select(User).where(User.email == "canbo@demo.example"))
        sector = session.scalar(select(Sector).where(Sector.code == "DAT_DAI"))
        assert code is not None and user is not None and sector is not None
        return {"agency": commune.id, "code": code.code, "user": user.id, "sector": sector.id}


# Every kind of page, by whom it is opened, and the HTTP status it answers with.
PAGES: dict[str, tuple[str | None, str, int]] = {
    "sign-in": (None, "/login", 200),
    "page not found": (None, "/khong-co-trang-nay", 404),
    "access denied (403)": ("staff", "/dashboard/", 403),
    "units and codes": ("staff", "/manage/", 200),
    "a unit's codes": ("staff", "/manage/agencies/{agency}", 200),
    "revoke a code": ("staff", "/codes/{code}/revoke", 200),
    "replace a code": ("staff", "/codes/{code}/replace", 200),
    "change password": ("staff", "/account/password", 200),
    "dashboard with a bad date": ("manager", "/dashboard/?period=custom&from=31/02/2025", 400),
    "quarterly report": ("manager", "/dashboard/report", 200),
    "method": ("manager", "/dashboard/method", 200),
    "comments": ("manager", "/review/comments", 200),
    "responses not counted": ("manager", "/review/flagged", 200),
    "accounts": ("admin", "/admin/users", 200),
    "new account": ("admin", "/admin/users/new", 200),
    "edit account": ("admin", "/admin/users/{user}", 200),
    "agencies": ("admin", "/admin/agencies", 200),
    "new agency": ("admin", "/admin/agencies/new", 200),
    "edit agency": ("admin", "/admin/agencies/{agency}", 200),
    "sectors": ("admin", "/admin/sectors", 200),
    "edit sector": ("admin", "/admin/sectors/{sector}", 200),
    "audit log": ("admin", "/admin/audit", 200),
    "targets": ("admin", "/admin/targets", 200),
    "new target year": ("admin", "/admin/targets/new", 200),
    "edit targets": ("admin", "/admin/targets/2025", 200),
    "target scopes": ("admin", "/admin/targets/scopes", 200),
    "new target scope": ("admin", "/admin/targets/scopes/new", 200),
    "edit a target scope": ("admin", "/admin/targets/scopes/2", 200),
}


@pytest.mark.parametrize("kind", list(PAGES))
def test_page_has_no_wcag_violations(
    live_server: LiveServer, page_of: Callable[[str | None], Any], ids: dict[str, Any],
    kind: str,
) -> None:
    persona, path, status = PAGES[kind]
    page = page_of(persona)
    response = page.goto(live_server.url + path.format(**ids))
    assert response is not None and response.status == status, (kind, response and response.status)
    expect(page.locator("h1")).to_have_count(1)
    assert_no_axe_violations(page)


def test_forms_with_errors_have_no_wcag_violations(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    """A wrong password, and a code asked for a new counter without its name."""
    page = new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/login")
    page.fill("#email", "ai.do@demo.example")
    page.fill("#password", "khong-dung-mat-khau")
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_text("Email hoặc mật khẩu không đúng")).to_be_visible()
    assert_no_axe_violations(page)

    page = new_page("staff")
    page.goto(f"{live_server.url}/manage/agencies/{demo_ids(live_server)['agency']}")
    form = page.locator("#new-code")
    form.get_by_label("Quầy", exact=True).select_option("new")
    with page.expect_navigation() as navigation:
        form.get_by_role("button", name="Tạo mã").click()
    assert navigation.value is not None and navigation.value.status == 400
    expect(page.locator("#new_counter_name-error")).to_have_text("Vui lòng nhập tên quầy mới.")
    assert_no_axe_violations(page)


def test_admin_creates_an_account_and_finds_it_in_the_audit_log(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    email = f"lanhdao.moi{next(NEW_USERS)}@demo.example"
    page = new_page("admin")
    page.goto(f"{live_server.url}/admin/users")
    with page.expect_navigation():
        page.get_by_role("link", name="Tạo tài khoản").click()
    expect(page.locator("h1")).to_have_text("Tạo tài khoản")

    page.get_by_label("Email").fill(email)
    page.get_by_label("Họ và tên").fill("Lãnh đạo Xã Khe Sanh")
    page.get_by_label("Vai trò").select_option("manager")
    page.get_by_label("Đơn vị").select_option(label="Xã Khe Sanh (demo) (DEMO-X-KHESANH)")
    page.get_by_label("Mật khẩu ban đầu").fill("mat-khau-ban-dau-1")
    with page.expect_navigation():
        page.get_by_role("button", name="Tạo tài khoản").click()

    expect(page.locator(".flash-success")).to_have_text(f"Đã tạo tài khoản {email}.")
    row = page.locator("tbody tr", has=page.get_by_role("link", name=email))
    expect(row).to_contain_text("Lãnh đạo, quản lý")
    expect(row).to_contain_text("Xã Khe Sanh (demo)")
    expect(row).to_contain_text("Chưa đăng nhập")

    with page.expect_navigation():
        page.get_by_role("navigation", name="Điều hướng chính").get_by_role(
            "link", name="Nhật ký"
        ).click()
    entry = page.locator("tbody tr").filter(has_text="user.created").filter(has_text=email)
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("quantri@demo.example")  # who did it
    expect(entry).to_contain_text('"role": "manager"')
    expect(entry).to_contain_text('"agency": "DEMO-X-KHESANH"')

    # The new manager can sign in, and may choose only the commune.
    other = new_page(viewport={"width": 1280, "height": 900})
    other.goto(f"{live_server.url}/login")
    other.fill("#email", email)
    other.fill("#password", "mat-khau-ban-dau-1")
    with other.expect_navigation():
        other.get_by_role("button", name="Đăng nhập").click()
    expect(other.locator("h1")).to_have_text("Kết quả đánh giá sự hài lòng")
    expect(other.locator("#agency option")).to_have_text(
        ["Tất cả đơn vị trong phạm vi", "Xã Khe Sanh (demo)"]
    )
