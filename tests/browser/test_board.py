"""The public board in Chromium: an admin publishes agencies, a citizen reads them.

axe-core's WCAG 2.1 A and AA rules on the index, an agency's page and the page of an agency
not published, each on a phone (360×740) and a laptop (1366×768) with no sideways scroll;
the same page printed holds no navigation. Without Chromium, Playwright or
axe-playwright-python the module is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.support import LiveServer, assert_no_axe_violations, require

sync_api, _axe = require("playwright.sync_api", "axe_playwright_python.sync_playwright")

pytestmark = pytest.mark.browser

expect = sync_api.expect

SCREENS = {"phone": (360, 740), "laptop": (1366, 768)}
PUBLISHED = ("Trung tâm Phục vụ hành chính công tỉnh (demo)", "Xã Khe Sanh (demo)")
PAGES = {
    "index": ("/cong-khai", 200),
    "province": ("/cong-khai/DEMO-TTHCC", 200),
    "commune": ("/cong-khai/DEMO-X-KHESANH", 200),
    "not published": ("/cong-khai/DEMO-X-CUAVIET", 404),
}


@pytest.fixture(scope="module")
def published(live_server: LiveServer, open_board: Callable[..., Any]) -> LiveServer:
    """The demo's province centre and Xã Khe Sanh published by the admin, through the page."""
    page = open_board("admin")
    page.goto(f"{live_server.url}/admin/board")
    assert_no_axe_violations(page)
    for name in PUBLISHED:
        row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
        row.get_by_role("button", name="Công khai").click()
        expect(page.get_by_role("status")).to_contain_text(f"Đã công khai số liệu của {name}.")
    return live_server


@pytest.fixture(scope="module")
def open_board(browser: Any, signed_in_state: Callable[[str], dict[str, Any]]) -> Any:
    """Open pages in fresh contexts for the module (the publishing outlives one test)."""
    from tests.browser.support import LAPTOP, TIMEOUT_MS

    contexts: list[Any] = []

    def open_page(persona: str | None = None, **options: Any) -> Any:
        settings: dict[str, Any] = dict(LAPTOP)
        if persona is not None:
            settings["storage_state"] = signed_in_state(persona)
        context = browser.new_context(**{**settings, **options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("kind", list(PAGES))
def test_board_pages_pass_axe_and_fit_the_screen(
    published: LiveServer, open_board: Callable[..., Any], kind: str, screen: str
) -> None:
    path, status = PAGES[kind]
    width, height = SCREENS[screen]
    page = open_board(viewport={"width": width, "height": height})
    response = page.goto(published.url + path)
    assert response is not None and response.status == status
    assert_no_axe_violations(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{kind} at {screen}: the page scrolls {overflow} px sideways"


def test_a_citizen_finds_the_board_from_the_home_page(
    published: LiveServer, open_board: Callable[..., Any]
) -> None:
    page = open_board(viewport={"width": 360, "height": 740})
    page.goto(published.url + "/")
    page.get_by_role("link", name="Xem bảng công khai kết quả").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Công khai kết quả đánh giá sự hài lòng")
    links = page.get_by_role("main").get_by_role("list").first.get_by_role("link")
    expect(links).to_have_text(list(PUBLISHED))
    # Under the list, the seal of the daily totals leads to every day's digest.
    page.get_by_role("link", name="Mã niêm phong của từng ngày").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Niêm phong số liệu hằng ngày")
    page.go_back()
    page.get_by_role("link", name="Xã Khe Sanh (demo)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Xã Khe Sanh (demo)")
    expect(page.get_by_role("heading", name="Toàn đơn vị", exact=True)).to_be_visible()
    # Another quarter, from the list of quarters.
    quarters = page.get_by_role("navigation", name="Chọn quý")
    quarters.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"\?quy=\d{4}-Q[1-4]$"))


def test_the_printed_page_has_no_navigation_and_figures_in_black(
    published: LiveServer, open_board: Callable[..., Any]
) -> None:
    page = open_board()
    page.goto(published.url + "/cong-khai/DEMO-TTHCC")
    page.emulate_media(media="print")
    for hidden in (".topbar", ".quarters", ".crumbs"):
        expect(page.locator(hidden)).to_be_hidden()
    colours = page.eval_on_selector_all(
        ".status, .measure-value", "els => els.map(e => getComputedStyle(e).color)")
    assert colours and set(colours) == {"rgb(0, 0, 0)"}
    assert page.pdf(format="A4")[:4] == b"%PDF"
