"""What the browser tests share: Debian's Chromium, and the app served from a thread.

No browser is downloaded: Playwright drives /usr/bin/chromium. Without it (or without the
Python packages the tests name) a browser test module is skipped with a clear message.

One Chromium and one live server (a SQLite file holding the demo province) serve the whole
test run: the session fixture `browser` lives in tests/conftest.py, `live_server` and
`new_page` in tests/browser/conftest.py; they are built from the helpers here.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium tries to reach Google's hosts at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Generous: other work may share the machine, and Playwright waits only as long as needed.
TIMEOUT_MS = 30_000

PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
    "locale": "vi-VN",
}
LAPTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN"}

# The demo's accounts (survey_app.services.demo), one per role.
DEMO_PASSWORD = "matkhau-demo"
ACCOUNTS = {
    "admin": "quantri@demo.example",
    "manager": "lanhdao.tinh@demo.example",
    "commune_manager": "lanhdao.xa@demo.example",
    "staff": "canbo@demo.example",
}


def require(*modules: str) -> list[ModuleType]:
    """Skip the calling test module unless Chromium and these modules are there."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package to run the "
            "browser tests",
            allow_module_level=True,
        )
    return [
        pytest.importorskip(name, reason=f"{name} is not installed: pip install -e '.[test]'")
        for name in modules
    ]


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    url: str

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc


@contextmanager
def serve(
    directory: Path, prepare: Callable[[Flask], None], **config: Any
) -> Iterator[LiveServer]:
    """Serve the app on a fresh, migrated SQLite file; `prepare` fills it first.

    Keyword arguments are settings of the app (PUBLIC_BASE_URL=..., say).
    """
    from werkzeug.serving import make_server

    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.services.migrate import upgrade

    url = f"sqlite:///{directory / 'survey.sqlite3'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("APP_ENV", "testing")
        app = create_app(
            {"DATABASE_URL": url, "SECRET_KEY": "browser-tests-" + "x" * 32, **config}
        )
    upgrade(url)
    prepare(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        db.engine_for(app).dispose()


def load_demo_data(app: Flask) -> None:
    """Fill a fresh database with the sectors, targets and the demo province."""
    from survey_app.extensions import db
    from survey_app.services.demo import load_demo

    with app.app_context():
        load_demo(db.session)
        db.session.commit()


@contextmanager
def chromium() -> Iterator[Any]:
    """Launch Debian's Chromium through Playwright; close both afterwards."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def sign_in(browser: Any, server: LiveServer, email: str) -> dict[str, Any]:
    """Sign in through the sign-in form; return the context's cookies for later contexts."""
    context = browser.new_context(**LAPTOP)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        # Lands on a light page: the test that needs the dashboard opens it itself.
        page.goto(f"{server.url}/login?next=/manage/")
        page.fill("#email", email)
        page.fill("#password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Đăng nhập").click()
        assert urlsplit(page.url).path == "/manage/", f"{email} could not sign in"
        state: dict[str, Any] = context.storage_state()
        return state
    finally:
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core's WCAG 2.1 A and AA rules on the page; return the violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    )
    violations: list[dict[str, Any]] = results.response["violations"]
    return violations


def axe_report(violations: list[dict[str, Any]]) -> str:
    """Say what axe-core found, where, and how to fix it."""
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


def assert_no_axe_violations(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, f"{page.url}\n{axe_report(violations)}"


# The citizen's form, as a person fills it ------------------------------------------------

SUBMIT = "Gửi đánh giá"
THANKS_TITLE = "Cảm ơn Ông/Bà đã đánh giá"

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


def choose(page: Any, question: str, label: str, *, touch: bool = True) -> None:
    """Tap (or click) the visible text of a choice, as a citizen would, not the input."""
    text = page.locator(f"fieldset#{question} label.choice .text").get_by_text(label, exact=True)
    if touch:
        text.tap()
    else:
        text.click()


def answer_everything(
    page: Any, *, touch: bool = True, answers: dict[str, str] = ANSWERS,
    wish: tuple[str, str] = WISH, leave_out: str | None = None,
) -> None:
    for question, label in answers.items():
        if question != leave_out:
            choose(page, question, label, touch=touch)
    choose(page, *wish, touch=touch)
    page.locator("#comment").press_sequentially(COMMENT)


def submit(page: Any, *, touch: bool = True, name: str = SUBMIT) -> Any:
    """Press «Gửi đánh giá»; return the response of the navigation it causes."""
    button = page.get_by_role("button", name=name)
    with page.expect_navigation() as navigation:
        if touch:
            button.tap()
        else:
            button.click()
    return navigation.value


# The dashboard --------------------------------------------------------------------------


def api_token(server: LiveServer, email: str) -> str:
    """A personal API token of a demo account, made as `flask tokens create` makes it."""
    from survey_app.extensions import db
    from survey_app.services.accounts import create_token, find_user

    with server.app.app_context():
        user = find_user(db.session, email)
        assert user is not None
        _token, secret = create_token(db.session, user, label="browser test")
        db.session.commit()
    return secret


def shown_period(page: Any) -> tuple[str, str]:
    """The period the dashboard says it shows, as the API's YYYY-MM-DD dates."""
    text = page.locator(".scope-line strong").inner_text()
    days = re.findall(r"\d{2}/\d{2}/\d{4}", text)
    assert len(days) == 2, text
    start, end = (datetime.strptime(day, "%d/%m/%Y").date().isoformat() for day in days)
    return start, end
