"""A receipt's QR code, scanned and answered on a phone; the refusal pages on the same phone.

`flask receipts mint --png` writes the QR code a receipt would carry; zxing-cpp reads it
back as a phone's camera would, and Chromium (Playwright, 360 × 740) opens the link,
answers it and is thanked, once. Without Chromium, Playwright, zxing-cpp or axe-core the
module is skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.browser.support import LiveServer, assert_no_axe_violations, require

sync_api, zxingcpp, _axe = require(
    "playwright.sync_api", "zxingcpp", "axe_playwright_python.sync_playwright"
)

from tests.browser.support import THANKS_TITLE, answer_everything, submit  # noqa: E402

pytestmark = pytest.mark.browser

expect = sync_api.expect
AGENCY_NUMBERS = itertools.count(1)
PHONE_WIDTH = 360


@pytest.fixture
def agency(live_server: LiveServer) -> str:
    """A new agency with a receipt key (outside the demo province, whose figures stay)."""
    from survey_app.extensions import db
    from survey_app.models import Agency

    code = f"BN-{next(AGENCY_NUMBERS)}"
    with live_server.app.app_context():
        db.session.add(Agency(code=code, name="Phường Biên Nhận", level="commune"))
        db.session.commit()
    created = live_server.app.test_cli_runner().invoke(
        args=["receipts", "key", "create", "--agency", code]
    )
    assert created.exit_code == 0, created.output
    return code


def scan(png: Path) -> str:
    """Read the QR code in a PNG file as a phone's camera would."""
    from PIL import Image

    (barcode,) = zxingcpp.read_barcodes(
        Image.open(png).convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
    )
    return str(barcode.text)


def mint_receipt(server: LiveServer, agency: str, dossier: str, png: Path) -> str:
    """Print a receipt's QR code with `flask receipts mint`; return the link it scans to."""
    result = server.app.test_cli_runner().invoke(args=[
        "receipts", "mint", "--agency", agency, "--sector", "DAT_DAI", "--dossier", dossier,
        "--png", str(png),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    url = scan(png)
    assert url == result.output.strip().splitlines()[-1]
    assert len(urlsplit(url).path) == 47
    return url


def on_live_server(server: LiveServer, url: str) -> str:
    """Return the link's address on the test server (PUBLIC_BASE_URL is the deployment's)."""
    return server.url + urlsplit(url).path


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width}px wide on a {PHONE_WIDTH}px phone"


def stored(server: LiveServer, agency: str) -> list[tuple[str, str, int]]:
    """Return (status, kind of code, dossier digests) of the agency's responses."""
    from survey_app.extensions import db
    from survey_app.models import Agency, DossierDigest, Response, SurveyCode

    with server.app.app_context():
        rows = db.session.execute(
            select(Response.status, SurveyCode.kind, Response.id)
            .join(SurveyCode, SurveyCode.id == Response.survey_code_id)
            .join(Agency, Agency.id == Response.agency_id)
            .where(Agency.code == agency)
            .order_by(Response.id)
        ).all()
        return [
            (status, kind, len(db.session.scalars(
                select(DossierDigest).where(DossierDigest.response_id == response_id)).all()))
            for status, kind, response_id in rows
        ]  # fmt: skip


def test_a_printed_receipt_qr_is_scanned_and_answered_once_on_a_phone(
    live_server: LiveServer, agency: str, new_page: Callable[..., Any], tmp_path: Path
) -> None:
    url = mint_receipt(live_server, agency, "000.00.31.H45-261205-0001", tmp_path / "qr.png")
    page = new_page()

    response = page.goto(on_live_server(live_server, url))
    assert response is not None and response.status == 200
    expect(page.locator(".where .agency")).to_have_text("Phường Biên Nhận")
    expect(page.locator(".where .place")).to_contain_text("Hồ sơ tiếp nhận ngày")
    expect(page.locator(".where .place")).to_contain_text("Đất đai")
    expect(page.locator("#dossier")).to_have_count(0)
    assert_fits_the_phone(page)
    assert_no_axe_violations(page)

    answer_everything(page)
    submit(page)
    expect(page.locator("h1")).to_have_text(THANKS_TITLE)
    assert urlsplit(page.url).path == urlsplit(url).path + "/thanks"
    assert_fits_the_phone(page)
    assert stored(live_server, agency) == [("counted", "receipt", 1)]

    # Scanned again, on this phone or another: the thanks, and no second form.
    for phone in (page, new_page()):
        phone.goto(on_live_server(live_server, url))
        expect(phone.locator("h1")).to_have_text(THANKS_TITLE)
        expect(phone.locator("form")).to_have_count(0)
    assert stored(live_server, agency) == [("counted", "receipt", 1)]


def refusal_links(server: LiveServer, agency: str) -> dict[str, str]:
    """Return a link refused for each reason, by the page title it must get."""
    from survey_app.extensions import db
    from survey_app.models import Agency, ReceiptKey, Sector, utcnow
    from survey_app.services import receipts
    from survey_app.services.periods import local_date

    with server.app.app_context():
        session = db.session
        agency_id = session.scalar(select(Agency.id).where(Agency.code == agency))
        key = session.scalar(select(ReceiptKey).where(ReceiptKey.agency_id == agency_id))
        sector = session.scalar(select(Sector.id).where(Sector.code == "DAT_DAI"))
        assert key is not None and agency_id is not None and sector is not None
        today = local_date(utcnow())
        secret = bytes.fromhex(key.secret)

        def link(day_offset: int = 0, **changes: int) -> str:
            fields = {"key_id": key.id, "agency_id": agency_id, "sector_id": sector, **changes}
            return receipts.mint_token(
                secret, fields["key_id"], fields["agency_id"], fields["sector_id"],
                today + timedelta(days=day_offset), "HS-1",
            )  # fmt: skip

        genuine = link()
        links = {
            "Không đọc được liên kết đánh giá": genuine[:-1],
            "Liên kết đánh giá không hợp lệ": link(key_id=key.id + 10_000),
            "Liên kết đánh giá đã bị sửa đổi": genuine[:-1] + ("B" if genuine[-1] == "A" else "A"),
            "Liên kết đánh giá ghi sai đơn vị": link(agency_id=agency_id + 10_000),
            "Liên kết đánh giá ghi sai lĩnh vực": link(sector_id=65535),
            "Liên kết đánh giá chưa có hiệu lực": link(day_offset=5),
            "Liên kết đánh giá đã hết hạn": link(day_offset=-400),
        }
        # A second key, retired: its links are no longer in use.
        retired = receipts.create_key(session, session.get_one(Agency, agency_id))
        receipts.retire_key(session, retired)
        session.commit()
        links["Liên kết đánh giá đã ngừng sử dụng"] = receipts.mint_token(
            bytes.fromhex(retired.secret), retired.id, agency_id, sector, today, "HS-2"
        )
    return links


def test_every_refusal_page_says_what_happened_and_fits_a_phone(
    live_server: LiveServer, agency: str, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    for title, token in refusal_links(live_server, agency).items():
        response = page.goto(f"{live_server.url}/r/{token}")
        assert response is not None
        assert response.status in (404, 410), (title, response.status)
        expect(page.locator("h1")).to_have_text(title)
        expect(page.locator("form")).to_have_count(0)
        assert_fits_the_phone(page)
    assert stored(live_server, agency) == []
