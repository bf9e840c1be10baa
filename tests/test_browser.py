"""The citizen's survey in a real browser: Chromium driven by Playwright, checked by axe-core.

These tests serve the app over HTTP from a thread and use Debian's Chromium (no browser is
downloaded). Without Chromium, Playwright or axe-playwright-python the module is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from tests.browser_support import WCAG_TAGS, LiveServer, chromium, require, serve

sync_api, axe_sync = require("playwright.sync_api", "axe_playwright_python.sync_playwright")

from survey_app.questionnaire import CURRENT  # noqa: E402

pytestmark = pytest.mark.browser

expect = sync_api.expect

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}

SUBMIT = "Gửi đánh giá"
THANKS_TITLE = "Cảm ơn Ông/Bà đã đánh giá"
MISSING_TITLE = "Vui lòng trả lời các câu còn thiếu"
COMMENT = "Cán bộ hướng dẫn tận tình, nhưng phòng chờ hơi nóng."

# What the citizen taps (question -> label text) and what the database must then hold.
ANSWERS = {
    "q1": "Hài lòng",
    "q2": "Rất hài lòng",
    "q3": "Bình thường",
    "q4": "Chưa nhận kết quả",
    "q5": "Không hài lòng",
    "q6": "Hài lòng",
    "q7": "Không",
}
WISH = ("q8", "Thái độ phục vụ")
EXPECTED = {"q1": 4, "q2": 5, "q3": 3, "q4": None, "q5": 2, "q6": 4, "q7": "no"}
EXPECTED_WISHES = ["attitude"]


# Fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a fresh SQLite file, migrated and seeded, served from a daemon thread."""
    with serve(tmp_path_factory.mktemp("browser"), _seed) as live:
        yield live


def _seed(app: Flask) -> None:
    from survey_app.extensions import db
    from survey_app.seed import seed_sectors

    with app.app_context():
        seed_sectors(db.session)
        db.session.commit()


@pytest.fixture
def form_code(live_server: LiveServer) -> str:
    """A new survey code for each test, so each test counts only its own responses."""
    from survey_app.codes import create_survey_code
    from survey_app.extensions import db
    from survey_app.models import Agency, Counter, Sector

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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (a phone by default); all closed afterwards."""
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        context = browser.new_context(**{**PHONE, "locale": "vi-VN", **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


# Helpers -------------------------------------------------------------------------------


def form_url(server: LiveServer, code: str) -> str:
    return f"{server.url}/s/{code}"


def choose(page: Any, question: str, label: str, *, touch: bool = True) -> None:
    """Tap (or click) the visible text of a choice, as a citizen would, not the input."""
    text = page.locator(f"fieldset#{question} label.choice .text").get_by_text(label, exact=True)
    if touch:
        text.tap()
    else:
        text.click()


def answer_everything(page: Any, *, touch: bool = True) -> None:
    for question, label in ANSWERS.items():
        choose(page, question, label, touch=touch)
    choose(page, *WISH, touch=touch)
    page.locator("#comment").press_sequentially(COMMENT)


def submit(page: Any, *, touch: bool = True) -> Any:
    """Press «Gửi đánh giá»; return the response of the navigation it causes."""
    button = page.get_by_role("button", name=SUBMIT)
    with page.expect_navigation() as navigation:
        if touch:
            button.tap()
        else:
            button.click()
    return navigation.value


def assert_thanks_page(page: Any, code: str) -> None:
    assert urlsplit(page.url).path == f"/s/{code}/thanks"
    expect(page.locator("h1")).to_have_text(THANKS_TITLE)


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


def assert_one_response_as_answered(server: LiveServer, code: str) -> None:
    responses = stored_responses(server, code)
    assert len(responses) == 1, f"expected exactly one response, got {responses!r}"
    (response,) = responses
    assert {key: response[key] for key in EXPECTED} == EXPECTED
    assert response["wishes"] == EXPECTED_WISHES
    assert response["comment"] == COMMENT
    assert response["dossier_hash"] is None
    assert response["status"] == "counted"
    assert response["language"] == "vi"


def axe_report(violations: list[dict[str, Any]]) -> str:
    lines = [f"{len(violations)} axe-core violation(s) of {', '.join(WCAG_TAGS)}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} <{v.get('helpUrl', '')}>")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    at {target}: {node.get('html', '')}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


# Tests ---------------------------------------------------------------------------------


def test_citizen_answers_on_a_phone_and_is_thanked(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any]
) -> None:
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


def test_form_works_without_javascript(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any]
) -> None:
    page = new_page(java_script_enabled=False)
    page.goto(form_url(live_server, form_code))
    assert page.evaluate("1 + 1") == 2  # Playwright's own scripts still run
    assert page.locator("#comment-count").inner_text().startswith("Tối đa")  # page JS did not

    answer_everything(page)
    navigation = submit(page)
    assert navigation is not None and navigation.status == 200
    assert_thanks_page(page, form_code)
    assert_one_response_as_answered(live_server, form_code)


@pytest.mark.parametrize("state", ["empty form", "form with errors", "thank-you page"])
def test_pages_have_no_wcag_violations(
    live_server: LiveServer, form_code: str, new_page: Callable[..., Any], state: str
) -> None:
    page = new_page()
    if state == "thank-you page":
        page.goto(f"{form_url(live_server, form_code)}/thanks")
        expect(page.locator("h1")).to_have_text(THANKS_TITLE)
    else:
        page.goto(form_url(live_server, form_code))
        if state == "form with errors":
            submit(page)
            expect(page.locator("#error-summary")).to_be_visible()

    results = axe_sync.Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    violations = results.response["violations"]
    if violations:
        print(axe_report(violations))
    assert not violations, axe_report(violations)


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
