"""Browser tests: one live server over the demo data and one Chromium for the whole run.

`browser` (Chromium through Playwright) is in tests/conftest.py; the helpers these fixtures
are built from are in tests/browser/support.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser import support as browser_support


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[browser_support.LiveServer]:
    """The app on a SQLite file holding the demo province, served once from a thread."""
    directory = tmp_path_factory.mktemp("live-server")
    with browser_support.serve(directory, browser_support.load_demo_data) as live:
        yield live


@pytest.fixture(scope="session")
def signed_in_state(
    browser: Any, live_server: browser_support.LiveServer
) -> Callable[[str], dict[str, Any]]:
    """Return the cookies of a demo account, signed in through the form once per run."""
    states: dict[str, dict[str, Any]] = {}

    def state(persona: str) -> dict[str, Any]:
        if persona not in states:
            email = browser_support.ACCOUNTS[persona]
            states[persona] = browser_support.sign_in(browser, live_server, email)
        return states[persona]

    return state


@pytest.fixture
def new_page(
    browser: Any, signed_in_state: Callable[[str], dict[str, Any]]
) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh contexts, closed after the test.

    `new_page()` is a citizen's phone; `new_page("manager")` a laptop signed in as the
    demo's provincial manager (or "admin", "staff", "commune_manager"). Keyword arguments
    go to the context (`java_script_enabled=False`, `viewport=...`).
    """
    contexts: list[Any] = []

    def open_page(persona: str | None = None, **options: Any) -> Any:
        settings = dict(browser_support.PHONE if persona is None else browser_support.LAPTOP)
        if persona is not None:
            settings["storage_state"] = signed_in_state(persona)
        context = browser.new_context(**{**settings, **options})
        context.set_default_timeout(browser_support.TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
