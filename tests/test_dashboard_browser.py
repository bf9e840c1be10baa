"""The dashboard of the demo province in Chromium: as a manager reads it, and as it prints.

The app is served from a thread over a fresh SQLite file holding the demo data. Without
Chromium, Playwright, axe-playwright-python or pypdfium2 the module is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.browser_support import WCAG_TAGS, LiveServer, chromium, require, serve

sync_api, axe_sync, pypdfium2 = require(
    "playwright.sync_api", "axe_playwright_python.sync_playwright", "pypdfium2"
)

pytestmark = pytest.mark.browser

LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN"}
A4 = (595, 842)  # PDF points
MANAGER = "lanhdao.tinh@demo.example"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a fresh SQLite file holding the demo province, served from a thread."""
    with serve(tmp_path_factory.mktemp("dashboard"), _load_demo) as live:
        yield live


def _load_demo(app: Flask) -> None:
    from survey_app.demo import load_demo
    from survey_app.extensions import db

    with app.app_context():
        load_demo(db.session)
        db.session.commit()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def manager_page(browser: Any, live_server: LiveServer) -> Iterator[tuple[Any, list[str]]]:
    """A signed-in page of the province's manager, and the console problems it logs."""
    context = browser.new_context(**LAPTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
            else None)
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", MANAGER)
    page.fill("input[name=password]", "matkhau-demo")
    with page.expect_navigation():
        page.click("button[type=submit]")
    yield page, problems
    context.close()


def test_dashboard_reads_well_and_breaks_no_rule(manager_page, live_server):
    page, problems = manager_page
    page.goto(f"{live_server.url}/dashboard/")
    expect = sync_api.expect
    expect(page.locator("h1")).to_have_text("Kết quả đánh giá sự hài lòng")
    # Six headline cards, each figure with one decimal and a comma.
    cards = page.locator("article.card")
    expect(cards).to_have_count(6)
    for text in cards.all_inner_texts():
        assert "%" in text and "," in text.split("%")[0][-4:], text
    # Status in words, and a colour from the stylesheet (not the browser's default black).
    status = page.locator(".card .status").first
    expect(status).to_have_text(re.compile("Đạt|Chưa đạt|Chưa đủ mẫu"))
    assert status.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    # The charts are drawn and sit inside the page without overflowing it.
    for chart in page.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["x"] + box["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # No blocked style or script: the Content-Security-Policy would log it.
    assert problems == []
    results = axe_sync.Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    violations = results.response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def test_sort_link_and_filters_work_without_javascript(browser, live_server):
    context = browser.new_context(**LAPTOP, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", MANAGER)
    page.fill("input[name=password]", "matkhau-demo")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"{live_server.url}/dashboard/")
    page.select_option("#agency", "DEMO-X-CUAVIET")
    with page.expect_navigation():
        page.get_by_role("button", name="Xem số liệu").click()
    assert "Xã Cửa Việt (demo)" in page.locator(".scope-line").inner_text()
    # The counter list now offers the commune's counters.
    assert page.locator("#counter option").count() > 1
    with page.expect_navigation():
        page.locator("#by-sector a.sort", has_text="Số phiếu").click()
    numbers = [int(t.replace(".", "")) for t in
               page.locator("#by-sector tbody td:nth-child(2)").all_inner_texts()]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) > 1
    context.close()


def test_quarterly_report_prints_on_a4(manager_page, live_server):
    page, problems = manager_page
    page.goto(f"{live_server.url}/dashboard/report")
    page.emulate_media(media="print")
    assert not page.locator(".masthead").is_visible()
    assert not page.locator("form.filter-panel").is_visible()
    pdf = pypdfium2.PdfDocument(page.pdf(format="A4", print_background=True))
    sizes = [pdf[i].get_size() for i in range(len(pdf))]
    text = " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    assert 1 <= len(sizes) <= 4
    for width, height in sizes:
        assert abs(width - A4[0]) < 2 and abs(height - A4[1]) < 2
    assert "Quý" in text and "Phương pháp" in text and "Đăng xuất" not in text
    assert problems == []
