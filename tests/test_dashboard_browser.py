"""The dashboard of the demo province in Chromium: as a manager reads it, and as it prints.

The app is served from a thread over a fresh SQLite file holding the demo data. Without
Chromium, Playwright, axe-playwright-python or pypdfium2 the module is skipped.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"Chromium not found at {CHROMIUM}: install Debian's chromium package to run the "
        "browser tests",
        allow_module_level=True,
    )

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is not installed: pip install -e '.[test]' to run the browser tests",
)
axe_sync = pytest.importorskip(
    "axe_playwright_python.sync_playwright",
    reason="axe-playwright-python is not installed: pip install -e '.[test]'",
)
pypdfium2 = pytest.importorskip(
    "pypdfium2", reason="pypdfium2 is not installed: pip install -e '.[test]'"
)

from flask import Flask  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN"}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
A4 = (595, 842)  # PDF points
MANAGER = "lanhdao.tinh@demo.example"


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    url: str


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a fresh SQLite file holding the demo province, served from a thread."""
    from survey_app import create_app
    from survey_app.demo import load_demo
    from survey_app.extensions import db
    from survey_app.migrate import upgrade

    database = tmp_path_factory.mktemp("dashboard") / "survey.sqlite3"
    url = f"sqlite:///{database}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("APP_ENV", "testing")
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "dashboard-tests-" + "x" * 32})
    upgrade(url)
    with app.app_context():
        load_demo(db.session)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        db.engine_for(app).dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


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
