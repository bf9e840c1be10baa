"""A kiosk tablet at a counter, in Chromium: paired by staff, answered offline, revoked.

Staff of the demo's Phường Đông Hà show a pairing code; a 1280 × 800 tablet types it,
answers three times with the network cut, reloads while still offline, and sends all three
once the network is back: exactly three responses, source kiosk. The next person sees a
blank form and Back shows nothing; a revoked kiosk refuses; axe-core checks each page.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.support import LiveServer, assert_no_axe_violations, require

sync_api, _axe = require("playwright.sync_api", "axe_playwright_python.sync_playwright")

from tests.browser.support import (  # noqa: E402
    COMMENT,
    SUBMIT,
    THANKS_TITLE,
    answer_everything,
    choose,
)

pytestmark = pytest.mark.browser

expect = sync_api.expect
TABLET: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False,
                          "has_touch": True}
PHONE_SIZE: dict[str, Any] = {"viewport": {"width": 360, "height": 740}, "is_mobile": True,
                              "has_touch": True}
AGENCY = "DEMO-P-DONGHA"
# Where the pages are photographed for a person to look at, when asked (SCREENSHOTS_DIR).
SHOTS = os.environ.get("SCREENSHOTS_DIR")


def photograph(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def a_counter_code(server: LiveServer) -> str:
    """An active counter's code of the staff account's commune."""
    from survey_app.extensions import db
    from survey_app.models import Agency, SurveyCode

    with server.app.app_context():
        code = db.session.scalar(
            select(SurveyCode.code)
            .join(Agency, Agency.id == SurveyCode.agency_id)
            .where(Agency.code == AGENCY, SurveyCode.kind == "counter",
                   SurveyCode.revoked_at.is_(None))
            .order_by(SurveyCode.id)
        )
        assert code is not None
        return code


def kiosk_answers(server: LiveServer, kiosk_id: int) -> list[tuple[str, str]]:
    """(source, status) of every response the kiosk's answers were filed under."""
    from survey_app.extensions import db
    from survey_app.models import Kiosk, Response, SurveyCode

    with server.app.app_context():
        rows = db.session.execute(
            select(SurveyCode.kind, Response.status)
            .join(Response, Response.survey_code_id == SurveyCode.id)
            .join(Kiosk, Kiosk.answer_code_id == SurveyCode.id)
            .where(Kiosk.id == kiosk_id)
        ).all()
        return [(kind, status) for kind, status in rows]


def stored_kiosk_answers(
    server: LiveServer, kiosk_id: int, expected: list[tuple[str, str]], seconds: float = 15
) -> list[tuple[str, str]]:
    """The kiosk's stored answers once they are `expected`, or as they are after `seconds`.

    «Phiếu chờ gửi: 0» is also what the tablet says in the moment between the thanks and
    the answer entering its queue: the server is asked until the answer has arrived.
    """
    deadline = time.monotonic() + seconds
    while True:
        found = kiosk_answers(server, kiosk_id)
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def newest_kiosk(server: LiveServer) -> int:
    from survey_app.extensions import db
    from survey_app.models import Kiosk

    with server.app.app_context():
        kiosk_id = db.session.scalar(select(Kiosk.id).order_by(Kiosk.id.desc()).limit(1))
        assert kiosk_id is not None
        return kiosk_id


def show_pairing_code(staff: Any, server: LiveServer, code: str) -> str:
    staff.goto(f"{server.url}/codes/{code}/kiosks")
    with staff.expect_navigation():
        staff.get_by_role("button", name="Lấy mã ghép nối").click()
    shown = staff.locator("#pairing-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{3} [A-Z0-9]{3}", shown), shown
    return shown


def pair(tablet: Any, staff: Any, server: LiveServer, code: str) -> int:
    """Pair the tablet as a person would; wait until its service worker controls the page."""
    shown = show_pairing_code(staff, server, code)
    tablet.goto(f"{server.url}/kiosk")
    tablet.get_by_label("Mã ghép nối").fill(shown)
    with tablet.expect_navigation():
        tablet.get_by_role("button", name="Ghép nối").click()
    expect(tablet.locator("#kiosk-form")).to_be_visible()
    # (A promise, not wait_for_function: the page's CSP forbids the eval it polls with.)
    assert tablet.evaluate("""() => navigator.serviceWorker.ready.then(() =>
        navigator.serviceWorker.controller !== null || new Promise((resolve) =>
            navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true))))""")
    return newest_kiosk(server)


def answer_on_tablet(tablet: Any) -> None:
    answer_everything(tablet)
    tablet.get_by_role("button", name=SUBMIT).tap()
    expect(tablet.get_by_role("heading", name=THANKS_TITLE)).to_be_visible()


def next_person(tablet: Any) -> None:
    tablet.get_by_role("button", name="Phiếu mới").tap()
    expect(tablet.locator("#kiosk-form")).to_be_visible()


def nothing_of_the_last_person(tablet: Any) -> None:
    assert tablet.locator("input:checked").count() == 0
    assert COMMENT not in tablet.content()
    values = tablet.eval_on_selector_all("textarea, input[type=text]",
                                          "els => els.map(e => e.value)")
    assert all(value == "" for value in values), values


@pytest.fixture
def tablet_and_staff(new_page: Callable[..., Any]) -> tuple[Any, Any]:
    return new_page(**TABLET), new_page("staff")


def test_answers_given_offline_are_stored_once_each_after_a_reload(
    live_server: LiveServer, tablet_and_staff: tuple[Any, Any]
) -> None:
    tablet, staff = tablet_and_staff
    kiosk_id = pair(tablet, staff, live_server, a_counter_code(live_server))
    status = tablet.locator("#kiosk-status")

    tablet.context.set_offline(True)
    for _person in range(3):
        answer_on_tablet(tablet)
        next_person(tablet)
        nothing_of_the_last_person(tablet)
    expect(status).to_contain_text("Phiếu chờ gửi: 3")
    expect(status).to_contain_text("Mất kết nối mạng")
    assert kiosk_answers(live_server, kiosk_id) == []

    tablet.reload()  # still offline: the page comes from the service worker
    expect(tablet.locator("#kiosk-form")).to_be_visible()
    expect(status).to_contain_text("Phiếu chờ gửi: 3")
    nothing_of_the_last_person(tablet)

    tablet.context.set_offline(False)
    expect(status).to_have_text("Phiếu chờ gửi: 0", timeout=30_000)
    assert kiosk_answers(live_server, kiosk_id) == [("kiosk", "counted")] * 3
    # Sending again (another reload, the minute's retry) adds nothing.
    tablet.reload()
    expect(status).to_have_text("Phiếu chờ gửi: 0")
    assert len(kiosk_answers(live_server, kiosk_id)) == 3


def test_the_next_person_sees_a_blank_form_and_back_shows_nothing(
    live_server: LiveServer, tablet_and_staff: tuple[Any, Any]
) -> None:
    tablet, staff = tablet_and_staff
    kiosk_id = pair(tablet, staff, live_server, a_counter_code(live_server))
    answer_on_tablet(tablet)
    # While thanked, the answers are already gone from the page.
    assert tablet.locator("#kiosk-form").count() == 0
    nothing_of_the_last_person(tablet)
    next_person(tablet)
    nothing_of_the_last_person(tablet)
    expect(tablet.locator("#kiosk-status")).to_have_text("Phiếu chờ gửi: 0")
    expected = [("kiosk", "counted")]
    assert stored_kiosk_answers(live_server, kiosk_id, expected) == expected

    tablet.go_back()
    tablet.wait_for_load_state()
    nothing_of_the_last_person(tablet)
    tablet.go_forward()
    tablet.wait_for_load_state()
    nothing_of_the_last_person(tablet)


def test_a_tap_on_nghe_on_the_tablet_plays_that_questions_clip(
    live_server: LiveServer, tablet_and_staff: tuple[Any, Any]
) -> None:
    tablet, staff = tablet_and_staff
    # A tablet with no voice of its own: the question's recorded clip is fetched at the tap.
    tablet.add_init_script(
        'Object.defineProperty(window, "speechSynthesis", {value: undefined});'
        "HTMLMediaElement.prototype.play = function () { return Promise.resolve(); };")
    pair(tablet, staff, live_server, a_counter_code(live_server))
    expect(tablet.get_by_role("button", name="Nghe cả phiếu")).to_be_visible()
    with tablet.expect_response(lambda r: "/nghe/" in r.url and r.url.endswith("/q2")) as clip:
        tablet.get_by_role("button", name="Nghe câu 2").tap()
    assert clip.value.status in (200, 206)
    assert clip.value.headers["content-type"] == "audio/ogg"


def test_a_form_left_half_answered_and_the_thanks_reset_by_themselves(
    live_server: LiveServer, tablet_and_staff: tuple[Any, Any]
) -> None:
    tablet, staff = tablet_and_staff
    tablet.clock.install()
    kiosk_id = pair(tablet, staff, live_server, a_counter_code(live_server))
    answer_everything(tablet)
    tablet.clock.run_for(50_000)
    assert tablet.locator("input:checked").count() > 0  # still someone answering
    tablet.clock.run_for(11_000)  # a minute after the last tap
    nothing_of_the_last_person(tablet)
    assert kiosk_answers(live_server, kiosk_id) == []

    answer_on_tablet(tablet)
    expect(tablet.locator("#kiosk-complaint")).to_be_hidden()  # «Không»: the plain thanks
    tablet.clock.run_for(9_000)
    expect(tablet.locator("#kiosk-form")).to_be_visible()
    expect(tablet.locator("#kiosk-thanks")).to_be_hidden()
    nothing_of_the_last_person(tablet)
    expect(tablet.locator("#kiosk-status")).to_have_text("Phiếu chờ gửi: 0")
    expected = [("kiosk", "counted")]
    assert stored_kiosk_answers(live_server, kiosk_id, expected) == expected


def test_a_revoked_kiosk_refuses_in_vietnamese(
    live_server: LiveServer, tablet_and_staff: tuple[Any, Any]
) -> None:
    tablet, staff = tablet_and_staff
    code = a_counter_code(live_server)
    kiosk_id = pair(tablet, staff, live_server, code)

    staff.goto(f"{live_server.url}/codes/{code}/kiosks")
    staff.locator(f"#kiosk-{kiosk_id}").get_by_role("link", name="Thu hồi").click()
    with staff.expect_navigation():
        staff.get_by_role("button", name="Thu hồi").click()
    expect(staff.locator(f"#kiosk-{kiosk_id}")).to_contain_text("Đã thu hồi")

    answer_everything(tablet)
    tablet.get_by_role("button", name=SUBMIT).tap()
    refused = tablet.locator("#kiosk-refused")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("đã bị thu hồi và không nhận phiếu nữa")
    assert tablet.locator("#kiosk-form").count() == 0
    assert kiosk_answers(live_server, kiosk_id) == []

    tablet.reload()
    expect(tablet.get_by_role("heading", name="Máy không nhận phiếu")).to_be_visible()
    expect(tablet.locator("body")).to_contain_text("đã bị thu hồi")
    assert tablet.locator("#kiosk-form").count() == 0
    assert_no_axe_violations(tablet)


@pytest.mark.parametrize("size", ["tablet", "phone"])
def test_the_kiosk_pages_pass_axe_and_fit_the_screen(
    live_server: LiveServer, new_page: Callable[..., Any], size: str
) -> None:
    options = TABLET if size == "tablet" else PHONE_SIZE
    width = options["viewport"]["width"]
    tablet, staff = new_page(**options), new_page("staff")

    def fits(name: str) -> None:
        assert tablet.evaluate("document.documentElement.scrollWidth") <= width, name
        assert_no_axe_violations(tablet)
        photograph(tablet, f"kiosk-{name}-{size}")

    tablet.goto(f"{live_server.url}/kiosk")
    fits("pair")
    tablet.get_by_label("Mã ghép nối").fill("ZZZZZZ")
    with tablet.expect_navigation():
        tablet.get_by_role("button", name="Ghép nối").click()
    expect(tablet.get_by_text("Mã ghép nối không đúng hoặc đã hết hạn")).to_be_visible()
    fits("pair-error")

    pair(tablet, staff, live_server, a_counter_code(live_server))
    fits("form")
    if size == "tablet" and SHOTS:
        # The README's picture: SCREENSHOTS_DIR=docs/screenshots pytest -k "axe and tablet"
        tablet.screenshot(path=str(Path(SHOTS) / "kiosk-tablet.png"))
    tablet.get_by_role("button", name=SUBMIT).tap()
    expect(tablet.locator("#kiosk-errors")).to_be_visible()
    expect(tablet.locator("#kiosk-errors li:visible")).to_have_count(6)
    expect(tablet.locator("fieldset#q3 .error-message")).to_contain_text(
        "Vui lòng chọn một câu trả lời cho câu này.")
    fits("errors")
    # After «Có» the thanks say where to lodge a formal complaint, with no link out.
    answer_everything(tablet)
    choose(tablet, "q7", "Có")
    tablet.get_by_role("button", name=SUBMIT).tap()
    expect(tablet.get_by_role("heading", name=THANKS_TITLE)).to_be_visible()
    expect(tablet.locator("#kiosk-complaint")).to_be_visible()
    assert tablet.locator("#kiosk-thanks a").count() == 0
    fits("thanks")


@pytest.mark.parametrize("width, height", [(1366, 768), (360, 740)])
def test_the_staff_page_of_kiosks_passes_axe_and_fits(
    live_server: LiveServer, new_page: Callable[..., Any], width: int, height: int
) -> None:
    staff = new_page("staff", viewport={"width": width, "height": height})
    code = a_counter_code(live_server)
    kiosk_id = pair(new_page(**TABLET), staff, live_server, code)
    show_pairing_code(staff, live_server, code)
    expect(staff.locator(f"#kiosk-{kiosk_id}")).to_contain_text("Đang dùng")
    expect(staff.get_by_text("Mã chỉ dùng được một lần")).to_be_visible()
    expect(staff.locator(".kiosks-table")).to_be_visible()
    assert staff.evaluate("document.documentElement.scrollWidth") <= width
    assert_no_axe_violations(staff)
    photograph(staff, f"kiosk-staff-{width}")
