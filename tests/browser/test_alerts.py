"""An integrity alert in Chromium: a citizen answers «Có» to question 7 on a phone, and the
commune's manager sees it counted in the navigation, acknowledges it with a note and closes
it, on a phone and on a laptop, with no sideways scrolling and no WCAG violation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.support import (
    ANSWERS,
    PHONE,
    TIMEOUT_MS,
    LiveServer,
    answer_everything,
    assert_no_axe_violations,
    require,
    serve,
    submit,
)

sync_api, = require("playwright.sync_api")

pytestmark = pytest.mark.browser

expect = sync_api.expect

MANAGER = "lanhdao@xa-canhbao.example"
PASSWORD = "mat-khau-canh-bao-1"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "laptop": {"width": 1366, "height": 768}}
# Where the pages are photographed for a person to look at, when asked (SCREENSHOTS_DIR).
SHOTS = os.environ.get("SCREENSHOTS_DIR")


def prepare(app: Any) -> None:
    """A province, a commune with one code, and the commune's manager."""
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import Agency, Counter, Sector
    from survey_app.services.accounts import create_user
    from survey_app.services.codes import create_survey_code
    from survey_app.services.seed import seed_sectors, seed_targets

    with app.app_context():
        seed_sectors(db.session)
        seed_targets(db.session)
        province = Agency(code="TINH-CB", name="Tỉnh Cảnh Báo", level="province")
        commune = Agency(code="XA-CB", name="Xã Cảnh Báo", level="commune", parent=province)
        counter = Counter(agency=commune, name="Quầy 1")
        db.session.add_all([province, commune, counter])
        db.session.flush()
        sector = db.session.scalar(select(Sector).where(Sector.code == "HO_TICH"))
        assert sector is not None
        create_survey_code(db.session, commune, counter, sector)
        create_user(db.session, MANAGER, PASSWORD, "manager", commune)
        db.session.commit()


@pytest.fixture(scope="module")
def alert_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("alerts-server"), prepare) as live:
        yield live


def the_code(server: LiveServer) -> str:
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import SurveyCode

    with server.app.app_context():
        code = db.session.scalar(select(SurveyCode.code).order_by(SurveyCode.id))
        assert code is not None
        return code


def no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def photograph(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_an_integrity_answer_reaches_the_managers_inbox_and_is_closed(
    browser: Any, alert_server: LiveServer, size: str
) -> None:
    viewport = VIEWPORTS[size]
    code = the_code(alert_server)
    contexts: list[Any] = []

    def context(**settings: Any) -> Any:
        made = browser.new_context(**settings)
        made.set_default_timeout(TIMEOUT_MS)
        contexts.append(made)
        return made.new_page()

    try:
        # The citizen, on a phone.
        citizen = context(**PHONE)
        citizen.goto(f"{alert_server.url}/s/{code}")
        answer_everything(citizen, answers={**ANSWERS, "q7": "Có"})
        assert submit(citizen).ok
        assert urlsplit(citizen.url).path == f"/s/{code}/thanks"

        # The commune's manager signs in and sees one open alert in the navigation.
        manager = context(viewport=viewport, is_mobile=size == "phone", locale="vi-VN")
        manager.goto(f"{alert_server.url}/login?next=/manage/")
        manager.fill("#email", MANAGER)
        manager.fill("#password", PASSWORD)
        with manager.expect_navigation():
            manager.get_by_role("button", name="Đăng nhập").click()
        nav_link = manager.get_by_role("navigation", name="Điều hướng chính").get_by_role(
            "link", name="Cảnh báo")
        expect(nav_link.locator(".nav-count")).to_have_text("1 chưa xử lý")
        nav_link.click()
        expect(manager.locator("h1")).to_have_text("Cảnh báo")
        card = manager.locator(".alert-card")
        expect(card).to_have_count(1)
        expect(card).to_contain_text("Xã Cảnh Báo · Quầy 1")
        expect(card).not_to_contain_text("phòng chờ hơi nóng")  # never the citizen's words
        no_sideways_scroll(manager, viewport["width"])
        assert_no_axe_violations(manager)
        photograph(manager, f"inbox-{size}")

        # Acknowledged with a note, then closed; the count is gone.
        card.get_by_role("link").click()
        expect(manager.locator(".alert-facts")).to_contain_text("Chưa xử lý")
        no_sideways_scroll(manager, viewport["width"])
        assert_no_axe_violations(manager)
        photograph(manager, f"alert-{size}")
        manager.get_by_label("Ghi chú: đã làm gì, sẽ làm gì").fill(
            "Đã mời cán bộ quầy 1 lên làm việc.")
        with manager.expect_navigation():
            manager.get_by_role("button", name="Tiếp nhận cảnh báo").click()
        expect(manager.locator(".flash-success")).to_have_text("Đã tiếp nhận cảnh báo.")
        expect(manager.locator(".alert-history")).to_contain_text(
            "Đã mời cán bộ quầy 1 lên làm việc.")
        expect(nav_link.locator(".nav-count")).to_have_count(0)
        photograph(manager, f"acknowledged-{size}")
        manager.get_by_label("Ghi chú khi đóng (không bắt buộc)").fill("Đã xử lý xong.")
        with manager.expect_navigation():
            manager.get_by_role("button", name="Đóng cảnh báo").click()
        expect(manager.locator(".flash-success")).to_have_text("Đã đóng cảnh báo.")
        expect(manager.locator(".alert-facts")).to_contain_text("Đã đóng")
        no_sideways_scroll(manager, viewport["width"])

        manager.goto(f"{alert_server.url}/alerts/?status=open")
        expect(manager.locator(".alert-card")).to_have_count(0)
        manager.goto(f"{alert_server.url}/alerts/preferences")
        no_sideways_scroll(manager, viewport["width"])
        assert_no_axe_violations(manager)
        photograph(manager, f"preferences-{size}")
    finally:
        for made in contexts:
            made.close()


def test_the_rules_page_reads_on_a_phone(browser: Any, alert_server: LiveServer) -> None:
    """The admin's rule editor: every rule on its own panel, nothing cut at 360 px."""
    from sqlalchemy import select

    from survey_app.extensions import db
    from survey_app.models import User
    from survey_app.services.accounts import create_user

    with alert_server.app.app_context():
        if db.session.scalar(select(User).where(User.email == "quantri@canhbao.example")) is None:
            create_user(db.session, "quantri@canhbao.example", PASSWORD, "admin", None)
            db.session.commit()
    for size, viewport in VIEWPORTS.items():
        made = browser.new_context(viewport=viewport, locale="vi-VN")
        made.set_default_timeout(TIMEOUT_MS)
        try:
            page = made.new_page()
            page.goto(f"{alert_server.url}/login?next=/alerts/rules")
            page.fill("#email", "quantri@canhbao.example")
            page.fill("#password", PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name="Đăng nhập").click()
            expect(page.locator("h1")).to_have_text("Quy tắc cảnh báo")
            expect(page.locator("form.panel")).to_have_count(4)
            no_sideways_scroll(page, viewport["width"])
            assert_no_axe_violations(page)
            photograph(page, f"rules-{size}")
        finally:
            made.close()
