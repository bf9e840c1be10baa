"""The QR print pages printed to PDF by Chromium, then read back as a phone would read them.

Each page is printed with Playwright, rendered to images with pdfium and every QR on it is
decoded with zxing-cpp: the decoded addresses must be exactly the codes' survey addresses.
The app is served once for the whole run over the demo data (see tests/browser/conftest.py).
Without Chromium, Playwright, pypdfium2 or zxing-cpp the module is skipped.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.support import LiveServer, assert_no_axe_violations, require

sync_api, pypdfium2, zxingcpp = require("playwright.sync_api", "pypdfium2", "zxingcpp")

pytestmark = pytest.mark.browser

CALL_TO_ACTION = "Quét mã QR để đánh giá mức độ hài lòng"
ANONYMOUS = "Phiếu không ghi tên, không cần đăng nhập, mất khoảng 1 phút."
# Page sizes in PDF points (1/72 inch), rounded.
A4 = (595, 842)
A5 = (420, 595)
# 150 dpi: a module of the smallest QR (on a card) is about 8 pixels wide.
RENDER_SCALE = 150 / 72
AGENCY_NUMBERS = itertools.count(1)


@dataclass(frozen=True)
class Printed:
    """A PDF read back: per page its size, its decoded QR texts and its text."""

    sizes: list[tuple[int, int]]
    qr_texts: list[list[str]]
    texts: list[str]


@pytest.fixture
def issue_codes(live_server: LiveServer) -> Callable[..., tuple[int, list[str]]]:
    """Return a factory: a new agency with n active codes; gives its id and the codes."""
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import Agency, Sector
    from survey_app.services.counters import find_or_create_counter, issue_code

    def make(n: int, name: str = "Trung tâm Phục vụ hành chính công tỉnh") -> tuple[int, list[str]]:
        with live_server.app.app_context():
            session = db.session
            agency = Agency(code=f"IN-{next(AGENCY_NUMBERS)}", name=name, level="province")
            session.add(agency)
            session.flush()
            sectors = list(session.scalars(select(Sector).order_by(Sector.position)))
            codes = []
            for i in range(n):
                counter = find_or_create_counter(session, agency, f"Quầy {i // 2 + 1}")
                codes.append(issue_code(session, agency, counter, sectors[i % len(sectors)]).code)
            session.commit()
            return agency.id, codes

    return make


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A laptop-sized page of the demo's admin, who sees every agency."""
    return new_page("admin", viewport={"width": 1200, "height": 900})


# Helpers -------------------------------------------------------------------------------


def survey_urls(server: LiveServer, codes: list[str]) -> set[str]:
    from survey_app.services.codes import survey_url

    with server.app.app_context():
        return {survey_url(code) for code in codes}


def print_pdf(page: Any, url: str) -> Printed:
    """Open a page, print it as Chromium would on A4, and read the PDF back."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    return print_this_page(page)


def print_this_page(page: Any) -> Printed:
    """Print the page as Chromium would on A4, and read the PDF back."""
    # Honour the page's own @page size (the tent is A5); A4 is the default paper.
    pdf_bytes = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    try:
        sizes, qr_texts, texts = [], [], []
        for index in range(len(pdf)):
            pdf_page = pdf[index]
            width, height = pdf_page.get_size()
            sizes.append((round(width), round(height)))
            image = pdf_page.render(scale=RENDER_SCALE).to_pil()
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            qr_texts.append(sorted(barcode.text for barcode in found))
            text_page = pdf_page.get_textpage()
            texts.append(normalised(text_page.get_text_range()))
            text_page.close()
            pdf_page.close()
    finally:
        pdf.close()
    return Printed(sizes, qr_texts, texts)


def normalised(text: str) -> str:
    """Return the text in NFC with every run of white space as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


# Tests ---------------------------------------------------------------------------------


COUNTER_NUMBERS = itertools.count(1)


def test_staff_create_codes_then_print_the_sheet_and_a_tent(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    """The demo's counter clerk, through the pages only: two new codes, printed."""
    page = new_page("staff", viewport={"width": 1200, "height": 900})
    counter = f"Quầy lưu động {next(COUNTER_NUMBERS)}"
    page.goto(f"{live_server.url}/manage/")
    with page.expect_navigation():
        page.get_by_role("link", name="Phường Đông Hà (demo)").first.click()
    sync_api.expect(page.locator("h1")).to_have_text("Phường Đông Hà (demo)")

    def create(counter_choice: dict[str, str], sector: str, new_name: str = "") -> str:
        form = page.locator("#new-code")
        form.get_by_label("Quầy", exact=True).select_option(**counter_choice)
        if new_name:
            form.get_by_label("Tên quầy mới").fill(new_name)
        form.get_by_label("Lĩnh vực").select_option(label=sector)
        with page.expect_navigation():
            form.get_by_role("button", name="Tạo mã").click()
        flash = page.locator(".flash-success")
        sync_api.expect(flash).to_contain_text(f"cho {counter} · {sector}")
        match = re.search(r"Đã tạo mã ([A-Z0-9]{8}) ", flash.inner_text())
        assert match, flash.inner_text()
        code = match.group(1)
        sync_api.expect(page.locator(f"#code-{code}")).to_contain_text("Đang dùng")
        return code

    first = create({"value": "new"}, "Hộ tịch", new_name=counter)
    second = create({"label": counter}, "Chứng thực")
    urls = survey_urls(live_server, [first, second])

    # The counter's sheet: both codes on one A4 page, each QR scanning to its address.
    with page.expect_navigation():
        page.get_by_role("link", name=f"In mã của {counter}").click()
    printed = print_this_page(page)
    assert printed.sizes == [A4]
    assert set(printed.qr_texts[0]) == urls and len(printed.qr_texts[0]) == 2
    assert first in printed.texts[0] and second in printed.texts[0]

    # The first code's table tent: one A5 page, the same QR on both faces.
    page.go_back()
    with page.expect_navigation():
        page.locator(f"#code-{first}").get_by_role("link", name="Thẻ để bàn A6").click()
    printed = print_this_page(page)
    (first_url,) = survey_urls(live_server, [first])
    assert printed.sizes == [A5]
    assert printed.qr_texts == [[first_url, first_url]]
    assert CALL_TO_ACTION in printed.texts[0]



def test_eight_codes_print_on_two_a4_sheets_and_every_qr_scans(
    live_server: LiveServer, page: Any, issue_codes: Callable[..., tuple[int, list[str]]]
) -> None:
    agency_id, codes = issue_codes(8)
    printed = print_pdf(page, f"{live_server.url}/agencies/{agency_id}/codes/sheet")

    assert printed.sizes == [A4, A4], "8 cards at 6 per sheet should print on 2 A4 pages"
    assert [len(texts) for texts in printed.qr_texts] == [6, 2]
    decoded = [text for texts in printed.qr_texts for text in texts]
    assert len(decoded) == len(set(decoded))
    assert set(decoded) == survey_urls(live_server, codes)
    for text in printed.texts:
        assert CALL_TO_ACTION in text
    for code in codes:
        assert any(code in text for text in printed.texts), f"{code} is not printed as text"


def test_the_poster_prints_on_one_a4_page_with_one_scannable_qr(
    live_server: LiveServer, page: Any, issue_codes: Callable[..., tuple[int, list[str]]]
) -> None:
    _agency_id, (code,) = issue_codes(1)
    printed = print_pdf(page, f"{live_server.url}/codes/{code}/poster")

    assert printed.sizes == [A4]
    (url,) = survey_urls(live_server, [code])
    assert printed.qr_texts == [[url]]
    (text,) = printed.texts
    for words in (CALL_TO_ACTION, ANONYMOUS, "Trung tâm Phục vụ hành chính công tỉnh", url, code):
        assert words in text
    # The toolbar is for the screen only.
    assert "Ctrl+P" not in text


def test_the_table_tent_prints_on_one_a5_page_readable_from_both_sides(
    live_server: LiveServer, page: Any, issue_codes: Callable[..., tuple[int, list[str]]]
) -> None:
    _agency_id, (code,) = issue_codes(1)
    printed = print_pdf(page, f"{live_server.url}/codes/{code}/tent")

    assert printed.sizes == [A5]
    (url,) = survey_urls(live_server, [code])
    assert printed.qr_texts == [[url, url]]
    assert CALL_TO_ACTION in printed.texts[0]

    # One face upright below the fold, the other upside down above it.
    page.emulate_media(media="print")
    fold = page.locator(".tent-fold").bounding_box()
    back = page.locator(".tent-back").bounding_box()
    front = page.locator(".tent-face:not(.tent-back)").bounding_box()
    assert back["y"] + back["height"] <= fold["y"] + 1 <= front["y"] + 1
    transforms = page.locator(".tent-face").evaluate_all(
        "faces => faces.map(f => getComputedStyle(f).transform)"
    )
    assert transforms[0].startswith("matrix(-1, ") and transforms[1] == "none"


def test_a_long_agency_name_still_leaves_room_for_the_code(
    live_server: LiveServer, page: Any, issue_codes: Callable[..., tuple[int, list[str]]]
) -> None:
    name = ("Trung tâm Phục vụ hành chính công và Bộ phận Tiếp nhận và Trả kết quả " * 3)[:200]
    agency_id, (code,) = issue_codes(1, name)
    for url, box, typed_code in (
        (f"/codes/{code}/poster", ".sheet", ".poster-code"),
        (f"/agencies/{agency_id}/codes/sheet", ".card", ".card-code"),
        (f"/codes/{code}/tent", ".tent-face:not(.tent-back)", ".tent-code"),
    ):
        printed = print_pdf(page, live_server.url + url)
        assert len(printed.sizes) == 1
        assert len(printed.qr_texts[0]) in (1, 2)
        page.emulate_media(media="print")
        outer = page.locator(box).bounding_box()
        inner = page.locator(box).locator(typed_code).bounding_box()
        assert inner["y"] + inner["height"] <= outer["y"] + outer["height"], (
            f"{url}: the code printed under the QR is cut off"
        )
        page.emulate_media(media="null")


def test_the_toolbar_shows_on_screen_only(
    live_server: LiveServer, page: Any, issue_codes: Callable[..., tuple[int, list[str]]]
) -> None:
    _agency_id, (code,) = issue_codes(1)
    page.goto(f"{live_server.url}/codes/{code}/poster")
    toolbar = page.locator(".toolbar")
    sync_api.expect(toolbar).to_be_visible()
    sync_api.expect(toolbar).to_contain_text("Ctrl+P")
    # print.js reveals the button only where it can work.
    sync_api.expect(page.get_by_role("button", name="In trang này")).to_be_visible()
    page.emulate_media(media="print")
    sync_api.expect(toolbar).to_be_hidden()


@pytest.mark.parametrize("kind", ["poster", "sheet", "tent"])
def test_print_pages_have_no_wcag_violations(
    live_server: LiveServer,
    page: Any,
    issue_codes: Callable[..., tuple[int, list[str]]],
    kind: str,
) -> None:
    pytest.importorskip(
        "axe_playwright_python.sync_playwright",
        reason="axe-playwright-python is not installed: pip install -e '.[test]'",
    )
    agency_id, (code,) = issue_codes(1)
    if kind == "sheet":
        # With a notice too: one code of the selection does not exist.
        page.goto(f"{live_server.url}/agencies/{agency_id}/codes/sheet?code={code}&code=ZZZZ2345")
        sync_api.expect(page.get_by_role("status")).to_be_visible()
    else:
        page.goto(f"{live_server.url}/codes/{code}/{kind}")
    assert_no_axe_violations(page)
