"""The signed-in pages in Chromium: an admin at work, axe-core on every kind of page, and
every page fitting a phone (360×740) and a laptop (1366×768) without sideways scrolling.

The citizen's pages are checked in tests/browser/test_survey_form.py, the dashboard in
tests/browser/test_dashboard.py and the print pages in tests/browser/test_print.py; this
module walks every other page a person can reach, as the least privileged person who may
open it (the routes are those of tests/db/test_access_matrix.py). One live server over the demo
data and one Chromium serve the whole run (tests/browser/conftest.py). Without Chromium, Playwright
or axe-playwright-python the module is skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.support import LiveServer, assert_no_axe_violations, require

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
    from tests.browser.support import LAPTOP, TIMEOUT_MS

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
    "two-step verification": ("staff", "/account/second-factor", 200),
    "dashboard with a bad date": ("manager", "/dashboard/?period=custom&from=31/02/2025", 400),
    "quarterly report": ("manager", "/dashboard/report", 200),
    "method": ("manager", "/dashboard/method", 200),
    "comments": ("manager", "/review/comments", 200),
    "comments masked": ("manager", "/review/comments?period=last_12_months&q=%5BS%C4%90T%5D", 200),
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
    "public board publishing": ("admin", "/admin/board", 200),
}


# Every page a person works in, as it is checked for its fit on a screen: the table above and
# the dashboard (whose other checks are in tests/browser/test_dashboard.py). The print pages
# are A4 sheets, checked in tests/browser/test_print.py.
SCREEN_PAGES = {**PAGES, "dashboard": ("manager", "/dashboard/", 200)}
SCREENS = {"phone": (360, 740), "laptop": (1366, 768)}

# Words of a status label broken across lines: every word must sit on one line.
BROKEN_LABELS = """() => {
  const broken = [];
  for (const label of document.querySelectorAll('.status, .tag')) {
    const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(label.textContent.trim());
      }
    }
  }
  return broken;
}"""


@pytest.fixture(scope="module")
def screen_page(
    browser: Any, signed_in_state: Callable[[str], dict[str, Any]]
) -> Iterator[Callable[[str | None, str], Any]]:
    """One page per person and screen size for the whole walk."""
    from tests.browser.support import TIMEOUT_MS

    pages: dict[tuple[str | None, str], Any] = {}

    def page(persona: str | None, screen: str) -> Any:
        if (persona, screen) not in pages:
            width, height = SCREENS[screen]
            state = {"storage_state": signed_in_state(persona)} if persona else {}
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale="vi-VN", **state
            )
            context.set_default_timeout(TIMEOUT_MS)
            pages[persona, screen] = context.new_page()
        return pages[persona, screen]

    yield page
    for opened in pages.values():
        opened.context.close()


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("kind", list(SCREEN_PAGES))
def test_page_fits_the_screen(
    live_server: LiveServer, screen_page: Callable[[str | None, str], Any],
    ids: dict[str, Any], kind: str, screen: str,
) -> None:
    """No sideways scrolling of the page, and no status label broken inside a word."""
    persona, path, status = SCREEN_PAGES[kind]
    page = screen_page(persona, screen)
    response = page.goto(live_server.url + path.format(**ids))
    assert response is not None and response.status == status, (kind, response and response.status)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"{kind} at {screen}: the page scrolls {overflow} px sideways"
    assert page.evaluate(BROKEN_LABELS) == [], f"{kind} at {screen}: a label broken in a word"


def test_verdict_cards_are_in_the_first_screen_of_a_laptop(
    live_server: LiveServer, screen_page: Callable[[str | None, str], Any]
) -> None:
    page = screen_page("manager", "laptop")
    page.goto(f"{live_server.url}/dashboard/")
    top = page.locator("article.card").first.evaluate("card => card.getBoundingClientRect().top")
    assert 0 < top < SCREENS["laptop"][1]


def test_codes_become_one_card_per_code_on_a_phone(
    live_server: LiveServer, screen_page: Callable[[str | None, str], Any],
    ids: dict[str, Any],
) -> None:
    """Each code's links, «Thu hồi» too, are inside the screen with the column's name."""
    page = screen_page("staff", "phone")
    page.goto(f"{live_server.url}/manage/agencies/{ids['agency']}")
    row = page.locator(f"#code-{ids['code']}")
    revoke = row.get_by_role("link", name="Thu hồi")
    expect(revoke).to_be_visible()
    box = revoke.bounding_box()
    assert box is not None and box["x"] + box["width"] <= SCREENS["phone"][0]
    names = row.locator("td[data-label]").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"
    )
    assert names[:3] == ['"Lĩnh vực"', '"Mã"', '"Trạng thái"']


def test_a_masked_comment_carries_its_note_on_a_phone(
    live_server: LiveServer, screen_page: Callable[[str | None, str], Any]
) -> None:
    """The demo's comment with a phone number shows «[SĐT]» and the note under it."""
    page = screen_page("manager", "phone")
    page.goto(live_server.url + PAGES["comments masked"][1])
    row = page.locator("tr", has=page.get_by_text("Đã che thông tin cá nhân")).first
    expect(row).to_contain_text("có gì gọi tôi: [SĐT].")
    note = row.get_by_text("Đã che thông tin cá nhân")
    expect(note).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


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
    entry = page.locator("tbody tr").filter(has_text="Tạo tài khoản").filter(has_text=email)
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("quantri@demo.example")  # who did it
    # In words, not as the stored JSON.
    expect(entry).to_contain_text("Lãnh đạo, quản lý")
    expect(entry).to_contain_text("DEMO-X-KHESANH")
    expect(entry).not_to_contain_text("{")

    # The new manager can sign in, and may choose only the commune.
    other = new_page(viewport={"width": 1280, "height": 900})
    other.goto(f"{live_server.url}/login")
    other.fill("#email", email)
    other.fill("#password", "mat-khau-ban-dau-1")
    with other.expect_navigation():
        other.get_by_role("button", name="Đăng nhập").click()
    # A password an admin chose is replaced at the first sign-in.
    other.fill("#current_password", "mat-khau-ban-dau-1")
    other.fill("#new_password", "mat-khau-cua-rieng-toi-2")
    other.fill("#confirm", "mat-khau-cua-rieng-toi-2")
    with other.expect_navigation():
        other.get_by_role("button", name="Đổi mật khẩu").click()
    other.goto(f"{live_server.url}/dashboard/")
    expect(other.locator("h1")).to_have_text("Kết quả đánh giá sự hài lòng")
    expect(other.locator("#agency option")).to_have_text(
        ["Tất cả đơn vị trong phạm vi", "Xã Khe Sanh (demo)"]
    )


def test_an_admin_enrols_a_second_factor_on_a_phone_and_signs_in_with_a_code(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    """Sent to enrolment after the password: the QR code fits a phone and a laptop, the
    first code turns it on, and the next sign-in asks for a code."""
    import pyotp

    from survey_app.extensions import db
    from survey_app.models import User
    from survey_app.services.accounts import create_user
    from tests.browser.support import DEMO_PASSWORD, PHONE

    email = f"quantri.hai.buoc{next(NEW_USERS)}@demo.example"
    app = live_server.app
    with app.app_context():
        create_user(db.session, email, DEMO_PASSWORD, "admin")
        db.session.commit()
    app.config["SECOND_FACTOR_FOR_ADMINS"] = True
    try:
        def sign_in_to(page: Any) -> None:
            page.goto(f"{live_server.url}/login?next=/admin/users")
            page.fill("#email", email)
            page.fill("#password", DEMO_PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name="Đăng nhập").click()

        secrets = []
        for settings in (PHONE, {"viewport": {"width": 1366, "height": 768},
                                 "locale": "vi-VN"}):
            page = new_page(**settings)
            sign_in_to(page)
            assert page.url.endswith("/account/second-factor")
            expect(page.locator("h1")).to_have_text("Bật xác thực hai bước")
            qr = page.get_by_role("img", name="Mã QR để thêm tài khoản vào ứng dụng xác thực")
            expect(qr).to_be_visible()
            box = qr.bounding_box()
            width = settings["viewport"]["width"]
            assert box is not None and box["width"] >= 150 and box["x"] + box["width"] <= width
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            assert_no_axe_violations(page)
            secrets.append(page.locator("#secret-key").inner_text().replace(" ", ""))
        assert secrets[0] == secrets[1]  # the same key on both screens until it is confirmed

        page.get_by_label("Mã xác thực").fill(pyotp.TOTP(secrets[1]).now())
        with page.expect_navigation():
            page.get_by_role("button", name="Bật xác thực hai bước").click()
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        assert_no_axe_violations(page)

        # Thirty seconds later (the code just used is never accepted twice).
        with app.app_context():
            user = db.session.scalar(select(User).where(User.email == email))
            assert user is not None
            user.totp_last_step = None
            db.session.commit()
        later = new_page(viewport={"width": 1366, "height": 768})
        sign_in_to(later)
        expect(later.locator("h1")).to_have_text("Xác thực hai bước")
        assert_no_axe_violations(later)
        later.get_by_label("Mã xác thực").fill(pyotp.TOTP(secrets[1]).now())
        with later.expect_navigation():
            later.get_by_role("button", name="Xác nhận").click()
        assert later.url.endswith("/admin/users")
        expect(later.locator("h1")).to_have_text("Tài khoản")
    finally:
        app.config["SECOND_FACTOR_FOR_ADMINS"] = False
