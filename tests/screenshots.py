"""Regenerate the screenshots of the README: `make screenshots` (needs Debian's Chromium).

Serves the app over a temporary SQLite file holding the demo province, drives Chromium
through Playwright as the people who use it, and writes PNG files into one folder
(docs/screenshots/ by default):

- phone-form.png: the citizen's form on a 360 px phone, as it opens;
- phone-form-error.png: the same form sent with question 3 left out;
- phone-thanks.png: the thank-you page;
- phone-thanks-complaint.png: the thank-you page after «Có» to question 7: where to lodge a
  formal complaint (the demo province's hotline and the national portal);
- print-sheet.png: the first A4 sheet of QR cards of a commune, as Chromium prints it;
- dashboard.png: the dashboard of the demo province, as its manager sees it;
- dashboard-phone.png: the first screens of the same dashboard on a 360 px phone;
- codes-phone.png: a commune's codes on a 360 px phone, one card per code.

    python -m tests.screenshots [FOLDER]
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.browser import support as bs

PUBLIC_BASE_URL = "http://127.0.0.1:5000"  # the address `make run` serves and prints
ANSWERS = {"q1": "Hài lòng", "q2": "Rất hài lòng", "q4": "Chưa nhận kết quả",
           "q5": "Chưa góp ý, phản ánh", "q6": "Hài lòng", "q7": "Không"}
SHEET_DPI = 110


def main(argv: list[str]) -> int:
    if not os.path.exists(bs.CHROMIUM):
        print(f"Chromium not found at {bs.CHROMIUM}: install Debian's chromium package",
              file=sys.stderr)
        return 1
    folder = Path(argv[1] if len(argv) > 1 else "docs/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["APP_ENV"] = "testing"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with (
        tempfile.TemporaryDirectory() as directory,
        bs.serve(Path(directory), bs.load_demo_data, PUBLIC_BASE_URL=PUBLIC_BASE_URL) as live,
        bs.chromium() as browser,
    ):
        code = _first_code(live, "DEMO-X-CUAVIET")
        _citizen(browser, live, code, folder)
        _print_sheet(browser, live, folder)
        _dashboard(browser, live, folder)
        _on_a_phone(browser, live, folder)
    for path in sorted(folder.glob("*.png")):
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return 0


def _first_code(live: bs.LiveServer, agency_code: str) -> str:
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import Agency, SurveyCode

    with live.app.app_context():
        code = db.session.scalar(
            select(SurveyCode.code).join(Agency, SurveyCode.agency_id == Agency.id)
            .where(Agency.code == agency_code, SurveyCode.revoked_at.is_(None))
            .order_by(SurveyCode.id)
        )
    assert code is not None, f"the demo has no code for {agency_code}"
    return code


def _new_page(browser: Any, device: dict[str, Any], scale: int = 1, **options: Any) -> Any:
    context = browser.new_context(**device, device_scale_factor=scale, **options)
    context.set_default_timeout(bs.TIMEOUT_MS)
    return context.new_page()


def _citizen(browser: Any, live: bs.LiveServer, code: str, folder: Path) -> None:
    page = _new_page(browser, bs.PHONE, scale=2)  # as sharp as a phone's screen
    page.goto(f"{live.url}/s/{code}")
    page.screenshot(path=folder / "phone-form.png")

    for question, label in ANSWERS.items():
        page.locator(f"fieldset#{question} label.choice .text").get_by_text(
            label, exact=True
        ).tap()
    page.locator("#comment").fill("Cán bộ hướng dẫn tận tình.")
    with page.expect_navigation():
        page.get_by_role("button", name="Gửi đánh giá").tap()
    page.locator("#error-summary").wait_for()
    # The summary at the top, then the question left out with its message.
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("fieldset#q3").evaluate("e => window.scrollTo(0, e.offsetTop - 12)")
    page.screenshot(path=folder / "phone-form-error.png")

    page.locator("fieldset#q3 label.choice .text").get_by_text("Bình thường", exact=True).tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Gửi đánh giá").tap()
    page.locator(".thanks").wait_for()
    page.screenshot(path=folder / "phone-thanks.png")
    page.context.close()

    page = _new_page(browser, bs.PHONE, scale=2)
    page.goto(f"{live.url}/s/{code}")
    for question, label in {**ANSWERS, "q3": "Hài lòng", "q7": "Có"}.items():
        page.locator(f"fieldset#{question} label.choice .text").get_by_text(
            label, exact=True
        ).tap()
    with page.expect_navigation():
        page.get_by_role("button", name="Gửi đánh giá").tap()
    page.locator(".complaint").wait_for()
    page.screenshot(path=folder / "phone-thanks-complaint.png", full_page=True)
    page.context.close()


def _print_sheet(browser: Any, live: bs.LiveServer, folder: Path) -> None:
    import pypdfium2

    state = bs.sign_in(browser, live, bs.ACCOUNTS["staff"])
    page = _new_page(browser, bs.LAPTOP, storage_state=state)
    page.goto(f"{live.url}/manage/")
    page.get_by_role("link", name="Phường Đông Hà (demo)").first.click()
    page.get_by_role("link", name="In tất cả mã đang dùng (A4)").click()
    page.locator(".card").first.wait_for()
    pdf = pypdfium2.PdfDocument(page.pdf(format="A4", print_background=True))
    try:
        pdf[0].render(scale=SHEET_DPI / 72).to_pil().save(folder / "print-sheet.png")
    finally:
        pdf.close()
    page.context.close()


def _dashboard(browser: Any, live: bs.LiveServer, folder: Path) -> None:
    state = bs.sign_in(browser, live, bs.ACCOUNTS["manager"])
    page = _new_page(browser, {**bs.LAPTOP, "viewport": {"width": 1280, "height": 1500}},
                     storage_state=state)
    page.goto(f"{live.url}/dashboard/?period=last_12_months")
    page.locator("article.card").first.wait_for()
    page.screenshot(path=folder / "dashboard.png")
    page.context.close()


def _on_a_phone(browser: Any, live: bs.LiveServer, folder: Path) -> None:
    """The dashboard down to its verdict cards, and the codes page, on a 360 px phone."""
    phone = {**bs.PHONE, "viewport": {"width": 360, "height": 1480}}  # two screens tall
    page = _new_page(browser, phone, scale=2,
                     storage_state=bs.sign_in(browser, live, bs.ACCOUNTS["manager"]))
    page.goto(f"{live.url}/dashboard/?period=last_12_months")
    page.locator("article.card").first.wait_for()
    page.screenshot(path=folder / "dashboard-phone.png")
    page.context.close()

    page = _new_page(browser, phone, scale=2,
                     storage_state=bs.sign_in(browser, live, bs.ACCOUNTS["staff"]))
    page.goto(f"{live.url}/manage/")
    page.get_by_role("link", name="Phường Đông Hà (demo)").first.click()
    page.locator("table.codes-table").wait_for()
    page.get_by_role("heading", name="Mã QR của các quầy").evaluate(
        "e => window.scrollTo(0, e.offsetTop - 8)"
    )
    page.screenshot(path=folder / "codes-phone.png")
    page.context.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
