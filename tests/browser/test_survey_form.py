"""The citizen's survey in a real browser: Chromium driven by Playwright, checked by axe-core.

The app is served over HTTP from a thread (once for the whole run, see tests/browser/conftest.py)
and Debian's Chromium is driven through Playwright (no browser is downloaded). Without
Chromium, Playwright or axe-playwright-python the module is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.browser.support import LiveServer, assert_no_axe_violations, require

sync_api, _axe = require("playwright.sync_api", "axe_playwright_python.sync_playwright")

from survey_app.questionnaire import CURRENT  # noqa: E402
from tests.browser.support import (  # noqa: E402
    ANSWERS,
    COMMENT,
    SUBMIT,
    THANKS_TITLE,
    WISH,
    answer_everything,
    choose,
    submit,
)

pytestmark = pytest.mark.browser

expect = sync_api.expect

MISSING_TITLE = "Vui lòng trả lời các câu còn thiếu"
MISSING_MESSAGE = "Vui lòng chọn một câu trả lời cho câu này."

EXPECTED = {"q1": 4, "q2": 5, "q3": 3, "q4": None, "q5": 2, "q6": 4, "q7": "no"}
EXPECTED_WISHES = ["attitude"]

# The same answers as an English-speaking citizen reads them.
ENGLISH_ANSWERS = {
    "q1": "Satisfied",
    "q2": "Very satisfied",
    "q3": "Neutral",
    "q4": "Result not received yet",
    "q5": "Dissatisfied",
    "q6": "Satisfied",
    "q7": "No",
}
ENGLISH_WISH = ("q8", "Attitude of service")


# Fixtures ------------------------------------------------------------------------------


@pytest.fixture
def form_code(live_server: LiveServer) -> str:
    """A new survey code for each test, so each test counts only its own responses.

    The codes belong to an agency outside the demo province, so the demo's figures, which
    other browser tests read, stay as they are.
    """
    from survey_app.extensions import db
    from survey_app.models import Agency, Counter, Sector
    from survey_app.services.codes import create_survey_code

    with live_server.app.app_context():
        session = db.session
        agency = session.scalar(select(Agency).where(Agency.code == "TTHCC"))
        if agency is None:
            agency = Agency(
                code="TTHCC", name="Trung tâm Phục vụ hành chính công tỉnh", level="province"
            )
            session.add(agency)
        counter = session.scalar(select(Counter).where(Counter.agency == agency))
        if counter is None:
            counter = Counter(agency=agency, name="Quầy 3")
            session.add(counter)
        session.flush()
        sector = session.scalar(select(Sector).where(Sector.code == "DAT_DAI"))
        assert sector is not None, "seed_sectors() did not create the DAT_DAI sector"
        code = create_survey_code(session, agency, counter, sector).code
        session.commit()
    return code


@pytest.fixture
def revoked_code(live_server: LiveServer, form_code: str) -> str:
    """A code that was withdrawn at its counter."""
    from survey_app.extensions import db
    from survey_app.models import SurveyCode
    from survey_app.services.counters import revoke_code

    with live_server.app.app_context():
        code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == form_code))
        assert code is not None
        revoke_code(db.session, code)
        db.session.commit()
    return form_code


# Helpers -------------------------------------------------------------------------------


def form_url(server: LiveServer, code: str) -> str:
    return f"{server.url}/s/{code}"











def set_hotline(server: LiveServer, code: str, hotline: str | None, note: str | None) -> None:
    """Give the agency of a code its complaint hotline."""
    from survey_app.extensions import db
    from survey_app.models import SurveyCode

    with server.app.app_context():
        survey_code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == code))
        assert survey_code is not None
        survey_code.agency.hotline, survey_code.agency.hotline_note = hotline, note
        db.session.commit()


def assert_fits(page: Any, selector: str, width: int) -> None:
    """No sideways scrolling, and the element's box wholly inside the window's width."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width}px wide at {width}px"
    box = page.locator(selector).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def assert_thanks_page(page: Any, code: str, title: str = THANKS_TITLE) -> None:
    assert urlsplit(page.url).path == f"/s/{code}/thanks"
    expect(page.locator("h1")).to_have_text(title)


def stored_responses(server: LiveServer, code: str) -> list[dict[str, Any]]:
    """The responses recorded through one code, as plain values."""
    from survey_app.extensions import db
    from survey_app.models import Response, SurveyCode

    with server.app.app_context():
        responses = db.session.scalars(
            select(Response).join(SurveyCode).where(SurveyCode.code == code)
        ).all()
        return [
            {
                **{key: getattr(r, key) for key in EXPECTED},
                "wishes": r.wish_codes,
                "comment": r.comment,
                "dossier_hash": r.dossier_hash,
                "status": r.status,
                "language": r.language,
            }
            for r in responses
        ]


def assert_one_response_as_answered(server: LiveServer, code: str, language: str = "vi") -> None:
    responses = stored_responses(server, code)
    assert len(responses) == 1, f"expected exactly one response, got {responses!r}"
    (response,) = responses
    assert {key: response[key] for key in EXPECTED} == EXPECTED
    assert response["wishes"] == EXPECTED_WISHES
    assert response["comment"] == COMMENT
    assert response["dossier_hash"] is None
    assert response["status"] == "counted"
    assert response["language"] == language


def focus_ring(locator: Any) -> dict[str, str]:
    """The outline and box shadow the browser draws around an element right now."""
    result: dict[str, str] = locator.evaluate(
        "e => { const s = getComputedStyle(e); return {style: s.outlineStyle, "
        "width: s.outlineWidth, color: s.outlineColor, shadow: s.boxShadow}; }"
    )
    return result


def assert_visible_focus_ring(locator: Any) -> None:
    ring = focus_ring(locator)
    has_outline = ring["style"] not in ("none", "") and float(ring["width"].removesuffix("px")) >= 2
    assert has_outline or ring["shadow"] not in ("none", ""), f"no visible focus ring: {ring}"


# Tests ---------------------------------------------------------------------------------


def test_citizen_answers_on_a_phone_and_is_thanked(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As served: the code kept a few seconds, so a new phone's reading of a form shown
    # lately is answered in front of Flask (survey/first_visit.py), cookies and all.
    monkeypatch.setitem(live_server.app.config, "FORM_CODE_CACHE_SECONDS", 60)
    new_page().goto(form_url(live_server, form_code))  # another phone read it just before
    page = new_page()
    response = page.goto(form_url(live_server, form_code))
    assert response is not None and response.status == 200

    # Fits a 360 px screen: no sideways scrolling.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360, f"the form is {scroll_width}px wide on a 360px screen"

    # Every choice is a large enough target for a thumb.
    labels = page.locator("label.choice")
    expected_count = sum(len(q.values) for q in CURRENT.questions)
    assert labels.count() == expected_count
    heights = labels.evaluate_all(
        "els => els.map(e => [e.getAttribute('for'), e.getBoundingClientRect().height])"
    )
    too_small = [(for_id, h) for for_id, h in heights if h < 48]
    assert not too_small, f"choice labels under 48px tall: {too_small}"

    # The comment's counter writes its numbers as Vietnamese does: 1.000, not 1000.
    expect(page.locator("#comment-count")).to_have_text("Còn 1.000 ký tự")
    page.locator("#comment").fill("Tốt")
    expect(page.locator("#comment-count")).to_have_text("Còn 997 ký tự")
    page.locator("#comment").fill("")

    answer_everything(page)
    # Each tap on a label's text checked that label's input, and only that one.
    for question, label in [*ANSWERS.items(), WISH]:
        checked = page.locator(f"fieldset#{question} label.choice:has(input:checked) .text")
        expect(checked).to_have_text([label])

    navigation = submit(page)
    assert navigation is not None and navigation.status == 200
    assert_thanks_page(page, form_code)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360, f"the thank-you page is {scroll_width}px wide"

    assert_one_response_as_answered(live_server, form_code)


def test_missing_answers_are_listed_and_given_answers_kept(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    page.goto(form_url(live_server, form_code))

    navigation = submit(page)
    assert navigation is not None and navigation.status == 422
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("h2")).to_have_text(MISSING_TITLE)
    expect(summary).to_be_focused()  # survey.js moves focus there, for screen readers
    required = [q.key for q in CURRENT.questions if q.required]
    links = summary.locator("a")
    expect(links).to_have_count(len(required))
    first_href = links.first.get_attribute("href")
    assert first_href == "#q1-1"
    # The link's target is the first choice of question 1.
    expect(page.locator(f"fieldset#q1 {first_href}")).to_have_count(1)

    choose(page, "q1", "Hài lòng")
    navigation = submit(page)
    assert navigation is not None and navigation.status == 422
    expect(page.locator("#q1-4")).to_be_checked()
    expect(page.locator("#error-summary a")).to_have_count(len(required) - 1)
    assert page.locator("#error-summary a").first.get_attribute("href") == "#q2-1"
    assert stored_responses(live_server, form_code) == []


@pytest.mark.parametrize("javascript", [True, False], ids=["with JavaScript", "without"])
def test_one_answer_left_out_is_shown_beside_it_then_fixed(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any], javascript: bool
) -> None:
    page = new_page(java_script_enabled=javascript)
    page.goto(form_url(live_server, form_code))
    # Without JavaScript the page's own script did not run (Playwright's still do).
    counter_text = page.locator("#comment-count").inner_text()
    assert counter_text.startswith("Tối đa") is not javascript, counter_text

    answer_everything(page, leave_out="q3")
    navigation = submit(page)
    assert navigation is not None and navigation.status == 422

    # The message sits inside question 3, under its text; no other question has one.
    message = page.locator("fieldset#q3 .error-message")
    expect(message).to_be_visible()
    expect(message).to_contain_text(MISSING_MESSAGE)
    expect(page.locator(".error-message")).to_have_count(1)
    legend, first_choice = page.locator("fieldset#q3 legend"), page.locator("#q3-1")
    assert legend.bounding_box()["y"] < message.bounding_box()["y"]
    assert message.bounding_box()["y"] < first_choice.bounding_box()["y"]
    expect(page.locator("fieldset#q3")).to_have_attribute("aria-describedby", "q3-error")
    expect(page.locator("#error-summary a")).to_have_count(1)

    # Every other answer is kept, the comment too.
    for question, label in [*ANSWERS.items(), WISH]:
        checked = page.locator(f"fieldset#{question} label.choice:has(input:checked) .text")
        expect(checked).to_have_text([] if question == "q3" else [label])
    expect(page.locator("#comment")).to_have_value(COMMENT)
    assert stored_responses(live_server, form_code) == []

    choose(page, "q3", ANSWERS["q3"])
    navigation = submit(page)
    assert navigation is not None and navigation.status == 200
    assert_thanks_page(page, form_code)
    assert_one_response_as_answered(live_server, form_code)


def test_switch_to_english_answer_and_switch_back(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    page.goto(form_url(live_server, form_code))
    expect(page.locator("html")).to_have_attribute("lang", "vi")

    with page.expect_navigation():
        page.get_by_role("link", name="English").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Satisfaction survey")
    expect(page.get_by_role("button", name="Send feedback")).to_be_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360, f"the English form is {scroll_width}px wide"
    expect(page.locator("#comment-count")).to_contain_text("1,000")

    answer_everything(page, answers=ENGLISH_ANSWERS, wish=ENGLISH_WISH)
    navigation = submit(page, name="Send feedback")
    assert navigation is not None and navigation.status == 200
    assert_thanks_page(page, form_code, "Thank you for your feedback")
    assert_one_response_as_answered(live_server, form_code, language="en")

    # The choice is remembered until the citizen switches back.
    with page.expect_navigation():
        page.get_by_role("link", name="Tiếng Việt").tap()
    assert_thanks_page(page, form_code)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.goto(form_url(live_server, form_code))
    expect(page.locator("h1")).to_have_text("Phiếu đánh giá mức độ hài lòng")
    expect(page.get_by_role("button", name=SUBMIT)).to_be_visible()


def test_form_can_be_filled_and_sent_with_the_keyboard_alone(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any]
) -> None:
    page = new_page(is_mobile=False, has_touch=False)
    page.goto(form_url(live_server, form_code))

    def focused() -> dict[str, str]:
        result: dict[str, str] = page.evaluate(
            "() => { const e = document.activeElement; "
            "return {tag: e.tagName, id: e.id, name: e.getAttribute('name') || ''}; }"
        )
        return result

    # A question's «Nghe» button comes before its answers: one more press each.
    def tab_to(name: str, most: int = 4) -> None:
        """Press Tab until an element named `name` has the focus (within a few presses)."""
        for _ in range(most):
            page.keyboard.press("Tab")
            if focused()["name"] == name or focused()["id"] == name:
                return
        raise AssertionError(f"Tab did not reach {name!r}; the focus is on {focused()}")

    # Arrows move through a question's choices (and choose), Tab goes to the next question.
    steps = {"q1": 3, "q2": 4, "q3": 2, "q4": 5, "q5": 1, "q6": 3}
    for question, downs in steps.items():
        tab_to(question)
        for _ in range(downs):
            page.keyboard.press("ArrowDown")
        focused_label = page.locator(f"fieldset#{question} label.choice:has(input:focus)")
        expect(focused_label).to_have_count(1)
        assert_visible_focus_ring(focused_label)
    tab_to("q7")  # «Có», «Không», «Không muốn trả lời»: down twice and up once is «Không»
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    tab_to("q8")
    page.keyboard.press("Space")  # a checkbox is ticked with the space bar
    tab_to("comment", most=10)
    assert_visible_focus_ring(page.locator("#comment"))
    page.keyboard.type(COMMENT)
    tab_to("dossier")
    assert_visible_focus_ring(page.locator("#dossier"))
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name=SUBMIT)
    expect(button).to_be_focused()
    assert_visible_focus_ring(button)
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value is not None and navigation.value.status == 200

    assert_thanks_page(page, form_code)
    stored = stored_responses(live_server, form_code)
    assert len(stored) == 1
    (response,) = stored
    assert {key: response[key] for key in EXPECTED} == {
        "q1": 4, "q2": 5, "q3": 3, "q4": None, "q5": 2, "q6": 4, "q7": "no",
    }
    assert response["wishes"] == ["facilities"] and response["comment"] == COMMENT


def test_a_revoked_code_says_so(
    live_server: LiveServer, revoked_code: str, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    response = page.goto(form_url(live_server, revoked_code))
    assert response is not None and response.status == 410
    expect(page.locator("h1")).to_have_text("Mã QR này đã ngừng sử dụng")
    expect(page.locator("main")).to_contain_text("nhờ cán bộ tại quầy cung cấp mã QR mới")
    expect(page.locator("form")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_no_axe_violations(page)


def test_an_unknown_code_says_so(live_server: LiveServer, new_page: Callable[..., Any]) -> None:
    page = new_page()
    response = page.goto(form_url(live_server, "ZZZZ2345"))
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Không tìm thấy mã đánh giá")
    expect(page.locator("main")).to_contain_text("kiểm tra lại mã trên tờ mã QR")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # In English too.
    with page.expect_navigation():
        page.get_by_role("link", name="English").tap()
    expect(page.locator("h1")).to_have_text("Survey code not found")
    assert_no_axe_violations(page)


@pytest.mark.parametrize(
    "state", ["empty form", "form with errors", "English form", "thank-you page", "home page"]
)
def test_pages_have_no_wcag_violations(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any], state: str
) -> None:
    page = new_page()
    if state == "thank-you page":
        # After q7 «Có»: where to lodge a formal complaint, with the agency's hotline.
        set_hotline(live_server, form_code, "0233 3852 111", "trong giờ hành chính")
        thanks = f"{form_url(live_server, form_code)}/thanks"
        page.context.add_cookies([{"name": "sid_pa", "value": "1", "url": thanks}])
        page.goto(thanks)
        expect(page.locator("h1")).to_have_text(THANKS_TITLE)
        expect(page.locator(".complaint a.phone")).to_have_text("0233 3852 111")
        for width, height in ((360, 740), (1366, 768)):
            page.set_viewport_size({"width": width, "height": height})
            assert_fits(page, ".complaint", width)
    elif state == "home page":
        response = page.goto(f"{live_server.url}/")
        assert response is not None and response.status == 200
    elif state == "English form":
        page.goto(f"{form_url(live_server, form_code)}?lang=en")
        expect(page.locator("h1")).to_have_text("Satisfaction survey")
    else:
        page.goto(form_url(live_server, form_code))
        if state == "form with errors":
            submit(page)
            expect(page.locator("#error-summary")).to_be_visible()
    assert_no_axe_violations(page)


def test_no_request_leaves_the_server(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any]
) -> None:
    page = new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(form_url(live_server, form_code))
    page.wait_for_load_state("networkidle")
    answer_everything(page)
    submit(page)
    assert_thanks_page(page, form_code)
    page.wait_for_load_state("networkidle")

    paths = {urlsplit(url).path for url in requested}
    # The recorder saw the page's own requests...
    assert {f"/s/{form_code}", "/static/public.css", "/static/survey.js"} <= paths
    # ...and nothing else went out (inline data: URLs need no network).
    elsewhere = [
        url
        for url in requested
        if urlsplit(url).scheme != "data" and urlsplit(url).netloc != live_server.netloc
    ]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def test_the_privacy_notice_fits_a_phone_and_a_laptop_and_needs_no_script(
    live_server: LiveServer, new_page: Callable[..., Any]
) -> None:
    form_page = new_page()
    form_page.goto(f"{live_server.url}/")
    form_page.get_by_role("link", name="Quyền riêng tư").click()
    expect(form_page.locator("h1")).to_have_text("Quyền riêng tư: dữ liệu của phiếu đánh giá")
    for viewport in ({"width": 360, "height": 740}, {"width": 1366, "height": 768}):
        page = new_page(viewport=viewport)
        response = page.goto(f"{live_server.url}/quyen-rieng-tu")
        assert response is not None and response.status == 200
        expect(page.locator("script")).to_have_count(0)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= viewport["width"], f"the notice is {scroll_width}px wide"
        size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.privacy p'))"
                             ".fontSize)")
        assert size >= 18, f"the notice's text is {size}px"
        assert_no_axe_violations(page)
