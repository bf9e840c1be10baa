"""The dashboard of the demo province in Chromium: as a manager reads it, and as it prints.

The app is served from a thread over the SQLite file holding the demo data (one live server
and one Chromium for the whole run, see tests/browser/conftest.py). Without Chromium, Playwright,
axe-playwright-python or pypdfium2 the module is skipped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from babel.numbers import format_percent

from tests.browser.support import LiveServer, assert_no_axe_violations, require

sync_api, _axe, pypdfium2 = require(
    "playwright.sync_api", "axe_playwright_python.sync_playwright", "pypdfium2"
)

from tests.browser.support import api_token, shown_period  # noqa: E402

pytestmark = pytest.mark.browser

expect = sync_api.expect

A4 = (595, 842)  # PDF points
# The verdict label of each (status, uncertain) of /api/v1/tallies (labels.verdict_label).
VERDICTS = {
    ("met", False): "Đạt", ("met", True): "Đạt (chưa chắc chắn)",
    ("below", False): "Chưa đạt", ("below", True): "Chưa đạt (chưa chắc chắn)",
    ("insufficient", False): "Chưa đủ mẫu",
}
INDICATORS = ("overall", "sipas_index")
PHONE = {"width": 360, "height": 740}
# Headings that overlap another heading or a paragraph of the page (pairs of their texts).
OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('main h1, main h2, main h3, main h4, main p')]
    .filter(e => e.offsetParent !== null).map(e => [e, e.getBoundingClientRect()]);
  const found = [];
  for (const [a, ra] of boxes) for (const [b, rb] of boxes) {
    if (a === b || a.contains(b) || b.contains(a) || !/^H/.test(a.tagName)) continue;
    const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (x > 1 && y > 1) found.push([a.textContent.trim(), b.textContent.trim()]);
  }
  return found;
}"""
LAPTOP = {"width": 1366, "height": 768}


def as_percent(value: float | None) -> str:
    """Return a percentage as the dashboard writes it (Vietnamese digits, one decimal)."""
    return "—" if value is None else format_percent(value / 100, "#,##0.0%", locale="vi")


def open_dashboard(page: Any, server: LiveServer) -> list[str]:
    """Open the dashboard; return the console errors and warnings it will log."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
            else None)
    response = page.goto(f"{server.url}/dashboard/")
    assert response is not None and response.status == 200
    return problems








Figures = dict[str, tuple[int, tuple[str, str], tuple[str, str]]]


def shown_figures(page: Any) -> Figures:
    """Each headline card: its counted responses, then O and S as (value, verdict) written."""
    figures = {}
    for card in page.locator("article.card").all():
        key = (card.get_attribute("class") or "").split("card-")[-1]
        shown = []
        for indicator in INDICATORS:
            measure = card.locator(f".measure-{indicator}")
            status = measure.locator(".status")
            verdict = status.inner_text()[1:].strip() if status.count() else ""
            shown.append((measure.locator(".measure-value").inner_text().strip(), verdict))
        n_text = card.locator(".measure-sipas_index .card-meta", has_text="phiếu").inner_text()
        figures[key] = (int(re.sub(r"\D", "", n_text)), shown[0], shown[1])
    return figures


def api_figures(page: Any, server: LiveServer, token: str, **query: str) -> Figures:
    """The same figures from /api/v1/tallies, written as the dashboard writes them."""
    reply = page.request.get(
        f"{server.url}/api/v1/tallies", params=query,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status == 200, reply.text()
    body = reply.json()
    # With a sector chosen the page shows that sector alone, judged by its own targets.
    scopes = body["scopes"] if "sector" not in query else {
        query["sector"]: body["sectors"][query["sector"]]}

    def verdict(scope: dict[str, Any], indicator: str) -> str:
        check = next((t for t in scope["targets"] if t["metric"] == indicator), None)
        return "" if check is None else VERDICTS[(check["status"], check["uncertain"])]

    return {
        code.lower(): (
            scope["responses"],
            (as_percent(scope["overall"]["share"]), verdict(scope, "overall")),
            (as_percent(scope["sipas_index"]), verdict(scope, "sipas_index")),
        )
        for code, scope in scopes.items()
    }


def counted_on_dashboard(page: Any) -> int:
    """«Phiếu được tính» of all sectors, from the table at the foot of the dashboard."""
    cell = page.locator("#counts tbody tr").first.locator("td").first
    return int(re.sub(r"\D", "", cell.inner_text()))


# Tests ---------------------------------------------------------------------------------


def test_dashboard_reads_well_and_breaks_no_rule(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    page = new_page("manager")
    problems = open_dashboard(page, live_server)
    expect(page.locator("h1")).to_have_text("Kết quả đánh giá sự hài lòng")
    # A card a target scope (five in the demo), O and S each with one decimal and a comma.
    cards = page.locator("article.card")
    expect(cards).to_have_count(5)
    for value in page.locator(".measure-value").all_inner_texts():
        assert re.fullmatch(r"\d{1,3},\d%", value), value
    # Each verdict in words, and a colour from the stylesheet (not the browser's default).
    status = page.locator(".card .status").first
    expect(status).to_have_text(re.compile("Đạt|Chưa đạt|Chưa đủ mẫu"))
    assert status.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    # An uncertain verdict never looks like a certain one: its own mark and colour.
    looks = {}
    for key in ("met", "below", "uncertain"):
        tag = page.locator(f".status-{key}").first
        looks[key] = (tag.locator(".status-symbol").inner_text(),
                      tag.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert len(set(looks.values())) == 3, looks
    # The charts are drawn and sit inside the page without overflowing it.
    for chart in page.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["x"] + box["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # No blocked style or script: the Content-Security-Policy would log it.
    assert problems == []
    assert_no_axe_violations(page)


def test_period_and_sector_filters_show_what_the_api_says(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    from tests.browser.support import ACCOUNTS

    token = api_token(live_server, ACCOUNTS["manager"])
    page = new_page("manager")
    open_dashboard(page, live_server)
    start, end = shown_period(page)
    assert start.endswith("-01-01"), "the dashboard opens on this year"
    before = shown_figures(page)
    assert before == api_figures(page, live_server, token, **{"from": start, "to": end})
    assert list(before)[:5] == ["all", "land", "construction", "investment",
                                "land_construction_investment"]

    page.select_option("#period", "last_12_months")
    page.select_option("#sector", "DAT_DAI")
    with page.expect_navigation():
        page.get_by_role("button", name="Xem số liệu").click()
    expect(page.locator(".scope-line")).to_contain_text("Đất đai")
    expect(page.locator("#period")).to_have_value("last_12_months")
    expect(page.locator("#sector")).to_have_value("DAT_DAI")

    start, end = shown_period(page)
    after = shown_figures(page)
    assert after != before, "the filters changed nothing on the page"
    expected = api_figures(page, live_server, token, **{"from": start, "to": end},
                           sector="DAT_DAI")
    assert after == expected
    # Land only: one card, the sector's, with the land target.
    assert list(after) == ["dat_dai"] and after["dat_dai"][0] > 0
    expect(page.locator("article.card-dat_dai .measure-overall")).to_contain_text("tối thiểu 85%")


@pytest.mark.parametrize(
    "path",
    ["/dashboard/", "/dashboard/?period=this_year&sector=DAU_TU",
     "/dashboard/?period=this_year&agency=DEMO-TTHCC", "/dashboard/report"],
)
def test_pages_fit_a_phone_and_a_laptop(
    live_server: LiveServer, new_page: Callable[..., Any], path: str
) -> None:
    for viewport in (PHONE, LAPTOP):
        page = new_page("manager", viewport=viewport, is_mobile=viewport is PHONE)
        page.goto(f"{live_server.url}{path}")
        # No sideways scrolling of the page: wide tables reflow, charts scroll in a frame.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        # No heading prints over another heading or a paragraph.
        assert page.evaluate(OVERLAPS) == []
        if viewport is LAPTOP and not path.startswith("/dashboard/report"):
            # On a laptop a verdict is in sight before any scrolling.
            box = page.locator(".card .status").first.bounding_box()
            assert box and box["y"] + box["height"] <= viewport["height"], box
        if viewport is PHONE:
            # On a phone each row of a figures table is a block naming its cells.
            cell = page.locator("table.reflow tbody td").first
            assert cell.evaluate("e => getComputedStyle(e, '::before').content") not in (
                "none", "normal", "")


def test_flagging_a_comment_takes_one_off_the_counted_figure(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    page = new_page("manager")
    page.goto(f"{live_server.url}/dashboard/?period=last_12_months")
    counted_before = counted_on_dashboard(page)

    page.goto(f"{live_server.url}/review/comments")
    expect(page.locator("h1")).to_have_text("Ý kiến của người dân")
    total = page.locator(".panel li", has_text="phiếu được tính vào số liệu")
    total_before = int(re.sub(r"\D", "", total.inner_text()))

    # Open the newest comment that still counts, and flag it.
    row = page.locator("tbody tr", has=page.locator("summary", has_text="Đánh dấu không tính"))
    row = row.first
    row_id = row.get_attribute("id")
    assert row_id and row_id.startswith("response-")
    comment = row.locator("td").nth(3).inner_text()
    assert comment.strip(), "the newest row has no comment"
    row.locator("summary", has_text="Đánh dấu không tính").click()
    flag_button = row.get_by_role("button", name="Đánh dấu")
    expect(flag_button).to_be_visible()
    row.locator("input[name=note]").fill("Thử nghiệm trên trình duyệt")
    with page.expect_navigation():
        flag_button.click()

    expect(page.locator(".flash")).to_contain_text(f"Đã đánh dấu phiếu #{row_id[9:]}")
    flagged_row = page.locator(f"#{row_id}")
    expect(flagged_row).to_contain_text("Thử nghiệm trên trình duyệt")
    expect(flagged_row.get_by_role("button", name="Khôi phục")).to_have_count(1)
    expect(total).to_contain_text(f"{total_before - 1:,}".replace(",", "."))
    assert int(re.sub(r"\D", "", total.inner_text())) == total_before - 1

    page.goto(f"{live_server.url}/dashboard/?period=last_12_months")
    assert counted_on_dashboard(page) == counted_before - 1


def test_sort_link_and_filters_work_without_javascript(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    page = new_page("manager", java_script_enabled=False)
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


def test_quarterly_report_prints_on_a4(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    page = new_page("manager")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning")
            else None)
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


def test_the_excel_download_holds_the_figures_on_the_screen(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    from openpyxl import load_workbook

    page = new_page("manager")
    open_dashboard(page, live_server)
    page.select_option("#period", "last_12_months")
    commune = page.locator("#agency option").nth(2)
    page.select_option("#agency", commune.get_attribute("value"))
    with page.expect_navigation():
        page.get_by_role("button", name="Xem số liệu").click()
    expect(page.locator("#period")).to_have_value("last_12_months")
    start, end = shown_period(page)
    shown = shown_figures(page)

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Tải Excel").click()
    download = waiting.value
    assert download.suggested_filename.startswith(f"tallies_{start}_{end}_")
    workbook = load_workbook(io.BytesIO(download.path().read_bytes()))
    header, *rows = ([cell.value for cell in row] for row in workbook.active.iter_rows())
    scopes = {row[-1].lower(): dict(zip(header, row, strict=True)) for row in rows
              if row[0] == "Phạm vi chỉ tiêu"}  # fmt: skip
    about = {row[0].value: row[1].value for row in workbook["Thông tin"].iter_rows()}
    assert about["Bộ lọc"].startswith(f"Đơn vị: {commune.inner_text().strip()}")

    o_name, s_name = "Hài lòng về giải quyết TTHC", "Chỉ số hài lòng (tính theo phương pháp SIPAS)"
    in_file = {
        key: (
            scope["Phiếu được tính"],
            (as_percent(scope[f"{o_name} (%)"]), scope[f"{o_name}: kết quả so với chỉ tiêu"] or ""),
            (as_percent(scope[f"{s_name} (%)"]), scope[f"{s_name}: kết quả so với chỉ tiêu"] or ""),
        )
        for key, scope in scopes.items()
    }
    assert shown and in_file == shown
