"""What the browser tests share: Debian's Chromium, and the app served from a thread.

No browser is downloaded: Playwright drives /usr/bin/chromium. Without it (or without the
Python packages the tests name) a browser test module is skipped with a clear message.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
def serve(directory: Path, prepare: Callable[[Flask], None]) -> Iterator[LiveServer]:
    """Serve the app on a fresh, migrated SQLite file; `prepare` fills it first."""
    from werkzeug.serving import make_server

    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.migrate import upgrade

    url = f"sqlite:///{directory / 'survey.sqlite3'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("APP_ENV", "testing")
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-tests-" + "x" * 32})
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
