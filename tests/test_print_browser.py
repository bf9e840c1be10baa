"""The QR print pages printed to PDF by Chromium, then read back as a phone would read them.

Each page is printed with Playwright, rendered to images with pdfium and every QR on it is
decoded with zxing-cpp: the decoded addresses must be exactly the codes' survey addresses.
Without Chromium, Playwright, pypdfium2 or zxing-cpp the module is skipped.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.browser_support import LiveServer, chromium, require, serve

sync_api, pypdfium2, zxingcpp = require("playwright.sync_api", "pypdfium2", "zxingcpp")

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "canbo.in@xa.example", "mat-khau-dung-1"
CALL_TO_ACTION = "Quét mã QR để đánh giá mức độ hài lòng"
ANONYMOUS = "Phiếu ẩn danh, không cần đăng nhập, mất khoảng 1 phút."
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


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a fresh SQLite file, seeded, with one admin account, served from a thread."""
    with serve(tmp_path_factory.mktemp("print"), _seed_with_admin) as live:
        yield live


def _seed_with_admin(app: Flask) -> None:
    from survey_app.auth.services import create_user
    from survey_app.extensions import db
    from survey_app.seed import seed_sectors

    with app.app_context():
        seed_sectors(db.session)
        # Admins see every agency, so one account opens every test's pages.
        create_user(db.session, EMAIL, PASSWORD, "admin", None)
        db.session.commit()


@pytest.fixture
def issue_codes(live_server: LiveServer) -> Callable[..., tuple[int, list[str]]]:
    """Return a factory: a new agency with n active codes; gives its id and the codes."""
    from sqlalchemy import select

    from survey_app.counters.services import find_or_create_counter, issue_code
    from survey_app.extensions import db
    from survey_app.models import Agency, Sector

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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A laptop-sized page, signed in through the sign-in form."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    assert "/login" not in page.url, "could not sign in"
    yield page
    context.close()


# Helpers -------------------------------------------------------------------------------


def survey_urls(server: LiveServer, codes: list[str]) -> set[str]:
    from survey_app.codes import survey_url

    with server.app.app_context():
        return {survey_url(code) for code in codes}


def print_pdf(page: Any, url: str) -> Printed:
    """Open a page, print it as Chromium would on A4, and read the PDF back."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
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
    axe_sync = pytest.importorskip(
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
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
    results = axe_sync.Axe().run(
        page, options={"runOnly": {"type": "tag", "values": tags}, "resultTypes": ["violations"]}
    )
    violations = results.response["violations"]
    assert not violations, [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations]
