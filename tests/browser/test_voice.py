"""«Nghe» on the citizen's form in Chromium: the device's Vietnamese voice speaks the
question (a stubbed speechSynthesis captures what it is asked to say), and without one the
question's clip is fetched at the tap, answers 200 with Ogg audio Chromium can play. Also
the buttons' names, keyboard and focus, their size, the layout on a phone and a laptop,
axe-core, and the admin page that replaces a clip."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.support import LiveServer, assert_no_axe_violations, require

sync_api, _axe = require("playwright.sync_api", "axe_playwright_python.sync_playwright")

from survey_app.questionnaire import CURRENT  # noqa: E402
from survey_app.readaloud import spoken_text  # noqa: E402

pytestmark = pytest.mark.browser

expect = sync_api.expect

# Where the pages are photographed for a person to look at, when asked (SCREENSHOTS_DIR).
SHOTS = os.environ.get("SCREENSHOTS_DIR")
VIEWPORTS = {"phone": (360, 740), "laptop": (1366, 768)}

# A speechSynthesis that says nothing and keeps what it was asked to say. `voices` are the
# voices the device has; Chromium's own utterance wants a real voice, so it is stubbed too.
SPEECH_STUB = """
(() => {
  const voices = %s;
  window.__spoken = [];
  class Utterance { constructor(text) { this.text = text; this.lang = ""; this.voice = null; } }
  const synth = {
    getVoices: () => voices,
    speak: (u) => window.__spoken.push({text: u.text, lang: u.lang,
                                        voice: u.voice && u.voice.name}),
    cancel: () => {}, pause: () => {}, resume: () => {},
    speaking: false, pending: false, addEventListener: () => {},
  };
  Object.defineProperty(window, "speechSynthesis", {value: synth, configurable: true});
  Object.defineProperty(window, "SpeechSynthesisUtterance", {value: Utterance,
                                                             configurable: true});
})();
"""
VIETNAMESE = SPEECH_STUB % '[{name: "Tiếng Việt", lang: "vi-VN", default: false}]'
NO_VIETNAMESE = SPEECH_STUB % '[{name: "English", lang: "en-US", default: true}]'
# Clips "end" at once, so a whole form's clips can be followed in order.
QUICK_CLIPS = """
(() => {
  window.__played = [];
  HTMLMediaElement.prototype.play = function () {
    window.__played.push(new URL(this.src).pathname);
    setTimeout(() => this.dispatchEvent(new Event("ended")), 10);
    return Promise.resolve();
  };
})();
"""


@pytest.fixture
def form_code(live_server: LiveServer) -> str:
    """A new survey code at a counter outside the demo province."""
    from survey_app.extensions import db
    from survey_app.models import Agency, Counter, Sector
    from survey_app.services.codes import create_survey_code

    with live_server.app.app_context():
        session = db.session
        agency = session.scalar(select(Agency).where(Agency.code == "TTHCC"))
        if agency is None:
            agency = Agency(code="TTHCC", name="Trung tâm Phục vụ hành chính công tỉnh",
                            level="province")
            session.add(agency)
        counter = session.scalar(select(Counter).where(Counter.agency == agency))
        if counter is None:
            counter = Counter(agency=agency, name="Quầy 3")
            session.add(counter)
        session.flush()
        sector = session.scalar(select(Sector).where(Sector.code == "DAT_DAI"))
        assert sector is not None
        code = create_survey_code(session, agency, counter, sector).code
        session.commit()
    return code


def open_form(new_page: Any, server: LiveServer, code: str, script: str = "",
              **options: Any) -> tuple[Any, list[str]]:
    """Open the form on a phone; return the page and the addresses it requested."""
    page = new_page(**options)
    if script:
        page.add_init_script(script)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{server.url}/s/{code}")
    return page, requested


def clip_path(key: str) -> str:
    return f"/nghe/{CURRENT.version}/{key}"


def photograph(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_a_tap_speaks_the_question_with_the_devices_vietnamese_voice(
    new_page: Any, live_server: LiveServer, form_code: str
) -> None:
    page, requested = open_form(new_page, live_server, form_code, VIETNAMESE)
    page.get_by_role("button", name="Nghe câu 3").tap()
    spoken = page.evaluate("window.__spoken")
    assert spoken == [{"text": spoken_text(CURRENT.question("q3")), "lang": "vi-VN",
                       "voice": "Tiếng Việt"}]
    assert spoken[0]["text"].startswith("Câu 3. Công chức tiếp nhận hồ sơ lịch sự")
    assert not [url for url in requested if "/nghe/" in url]


def test_the_whole_form_button_reads_every_question_in_order(
    new_page: Any, live_server: LiveServer, form_code: str
) -> None:
    page, _requested = open_form(new_page, live_server, form_code, VIETNAMESE)
    page.get_by_role("button", name="Nghe cả phiếu").tap()
    said = [u["text"] for u in page.evaluate("window.__spoken")]
    assert said == [spoken_text(q) for q in CURRENT.questions]


def test_without_a_vietnamese_voice_a_tap_fetches_that_questions_clip_and_only_then(
    new_page: Any, live_server: LiveServer, form_code: str
) -> None:
    page, requested = open_form(new_page, live_server, form_code, NO_VIETNAMESE)
    page.wait_for_load_state("networkidle")
    assert not [url for url in requested if "/nghe/" in url], "a clip was fetched before a tap"
    with page.expect_response(lambda r: clip_path("q3") in r.url) as answer:
        page.get_by_role("button", name="Nghe câu 3").tap()
    response = answer.value
    assert response.status in (200, 206)
    assert response.headers["content-type"] == "audio/ogg"
    assert page.evaluate("window.__spoken") == []
    clips = {url for url in requested if "/nghe/" in url}
    assert clips == {f"{live_server.url}{clip_path('q3')}"}


def test_without_a_vietnamese_voice_the_whole_form_plays_every_clip_in_order(
    new_page: Any, live_server: LiveServer, form_code: str
) -> None:
    page, _requested = open_form(new_page, live_server, form_code,
                                 NO_VIETNAMESE + QUICK_CLIPS)
    page.get_by_role("button", name="Nghe cả phiếu").tap()
    expected = [clip_path(q.key) for q in CURRENT.questions]
    # Polled from here: the form's content policy forbids the page evaluating strings.
    played: list[str] = []
    for _ in range(100):
        played = page.evaluate("window.__played")
        if len(played) >= len(expected):
            break
        page.wait_for_timeout(50)
    assert played == expected


def test_every_question_has_a_clip_chromium_plays(
    new_page: Any, live_server: LiveServer, form_code: str
) -> None:
    page, _requested = open_form(new_page, live_server, form_code)
    clips = page.locator("[data-listen]").evaluate_all(
        "buttons => buttons.map(b => b.getAttribute('data-clip'))")
    assert clips == [clip_path(q.key) for q in CURRENT.questions]
    for clip in clips:
        answer = page.request.get(f"{live_server.url}{clip}")
        assert answer.status == 200, clip
        assert answer.headers["content-type"] == "audio/ogg"
        assert answer.body()[:4] == b"OggS"
    # Chromium decodes the clip: its length is known once its header is read.
    duration = page.evaluate("""url => new Promise((done, fail) => {
        const audio = new Audio(url);
        audio.onloadedmetadata = () => done(audio.duration);
        audio.onerror = () => fail(new Error("cannot play " + url));
    })""", clips[0])
    assert 3 < duration < 60


def test_without_javascript_no_listen_button_shows(
    new_page: Any, live_server: LiveServer, form_code: str
) -> None:
    page, _requested = open_form(new_page, live_server, form_code, java_script_enabled=False)
    expect(page.locator("legend").first).to_be_visible()
    assert page.locator("[data-listen], [data-listen-all]").count() == len(CURRENT.questions) + 1
    for button in page.locator("[data-listen], [data-listen-all]").all():
        expect(button).to_be_hidden()
    # The hidden buttons leave the layout as it was: each question's answers sit below it.
    for question in CURRENT.questions:
        legend = page.locator(f"#{question.key} legend").bounding_box()
        first_choice = page.locator(f"#{question.key} .choice").first.bounding_box()
        assert first_choice["y"] >= legend["y"] + legend["height"], question.key
    photograph(page, "form-phone-without-javascript")


def test_the_buttons_are_reached_and_pressed_by_keyboard_with_a_visible_focus(
    new_page: Any, live_server: LiveServer, form_code: str
) -> None:
    page, _requested = open_form(new_page, live_server, form_code, VIETNAMESE,
                                 is_mobile=False, has_touch=False)
    page.get_by_role("button", name="Nghe cả phiếu").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Nghe câu 1"
    style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert style == "solid"
    page.keyboard.press("Enter")
    assert [u["text"] for u in page.evaluate("window.__spoken")] == [
        spoken_text(CURRENT.question("q1"))
    ]


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_the_buttons_fit_beside_the_questions_and_pass_axe(
    new_page: Any, live_server: LiveServer, form_code: str, size: str
) -> None:
    width, height = VIEWPORTS[size]
    page, _requested = open_form(new_page, live_server, form_code, VIETNAMESE,
                                 viewport={"width": width, "height": height})
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for question in CURRENT.questions:
        button = page.get_by_role("button", name=f"Nghe câu {question.number}")
        expect(button).to_be_visible()
        expect(button).to_contain_text("Nghe")
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
        legend = page.locator(f"#{question.key} legend").bounding_box()
        first_choice = page.locator(f"#{question.key} .choice").first.bounding_box()
        # Below the question's words and above its answers, overlapping neither.
        assert box["y"] >= legend["y"] + legend["height"] - 1
        assert box["y"] + box["height"] <= first_choice["y"] + 1
    assert_no_axe_violations(page)
    photograph(page, f"form-{size}")


def test_the_admin_replaces_a_clip_and_reverts_it(
    new_page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    page = new_page("admin")
    page.goto(f"{live_server.url}/admin/voice")
    expect(page.locator("h1")).to_have_text("Đọc phiếu thành tiếng")
    assert_no_axe_violations(page)
    recording = tmp_path / "cau-2.ogg"
    recording.write_bytes(Path(__file__).resolve().parents[2].joinpath(
        "survey_app", "static", "voice", CURRENT.version, "q5.ogg").read_bytes())
    page.get_by_label("Tệp ghi âm mới cho câu 2").set_input_files(str(recording))
    page.locator("#voice-q2").get_by_role("button", name="Tải lên").click()
    expect(page.locator(".flash")).to_contain_text("Đã thay đoạn ghi âm của câu 2.")
    expect(page.locator("#voice-q2")).to_contain_text("Đoạn ghi âm tải lên")
    photograph(page, "admin-voice-laptop")
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    photograph(page, "admin-voice-phone")
    page.locator("#voice-q2").get_by_role("button", name="Dùng lại đoạn tự tạo").click()
    expect(page.locator(".flash")).to_contain_text("Câu 2 dùng lại đoạn ghi âm tự tạo.")
    expect(page.locator("#voice-q2")).to_contain_text("Đoạn ghi âm tự tạo")
