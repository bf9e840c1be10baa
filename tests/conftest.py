"""Fixtures: the app on each test database, a rolled-back transaction per test.

Every test that uses `app` runs on SQLite, and again on PostgreSQL when
TEST_DATABASE_URL names a (throw-away) PostgreSQL database.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text

os.environ["APP_ENV"] = "testing"

from survey_app import create_app, normalise_database_url  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.models import Agency, SurveyCode  # noqa: E402
from survey_app.services import rollups  # noqa: E402
from survey_app.services.migrate import upgrade  # noqa: E402
from survey_app.services.seed import seed_sectors, seed_targets  # noqa: E402
from tests import browser_support  # noqa: E402
from tests.factories import (  # noqa: E402
    LOCAL_ZONE,
    World,
    create_code,
    record,
    varied_answers,
)

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def pytest_report_header(config: pytest.Config) -> str:
    where = "SQLite" + (" and PostgreSQL (TEST_DATABASE_URL)" if POSTGRES_URL else "")
    return f"databases: {where}"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the URL of a freshly migrated test database of one kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url = normalise_database_url(POSTGRES_URL or "")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    # Reference data that every test may rely on, committed once.
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        seed_sectors(db.session)
        seed_targets(db.session)
        db.session.commit()
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """Return the app bound to one connection whose transaction is rolled back after."""
    app = create_app({"DATABASE_URL": database_url})
    connection = db.engine_for(app).connect()
    transaction = connection.begin()
    db.bind_app_to(app, connection)
    yield app
    transaction.rollback()
    connection.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def survey_code(app: Flask) -> str:
    """Return the code string of an active code: provincial centre · Quầy 3 · Đất đai."""
    with app.app_context():
        code = create_code().code
        db.session.commit()
    return code


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many tests passed on each database, so CI shows both really ran."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            backend = next(
                (b for b in BACKENDS if f"[{b}" in getattr(report, "nodeid", "")), None
            )
            if backend and getattr(report, "when", "call") in ("call", "setup"):
                counts.setdefault(backend, {}).setdefault(outcome, 0)
                counts[backend][outcome] += 1
    for backend in BACKENDS:
        parts = ", ".join(f"{n} {o}" for o, n in sorted(counts.get(backend, {}).items()))
        terminalreporter.write_line(f"database {backend}: {parts or 'no test'}")
    terminalreporter.write_line(browser_summary(terminalreporter.stats))


def browser_summary(stats: dict[str, list[Any]]) -> str:
    """Return «browser tests: N ran, M skipped», with why any were skipped.

    A browser test is one marked `browser`; a browser module skipped as a whole (no
    Chromium, say) is counted apart, by its file name.
    """
    ran, skipped, modules, reasons = 0, 0, 0, set()
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in stats.get(outcome, []):
            keywords = getattr(report, "keywords", None)
            if keywords is None:  # a collection report: a whole module skipped
                nodeid = getattr(report, "nodeid", "")
                if outcome == "skipped" and "browser" in nodeid.rsplit("/", 1)[-1]:
                    modules += 1
                    reasons.add(_skip_reason(report))
                continue
            if "browser" not in keywords:
                continue
            if outcome == "skipped":
                skipped += 1
                reasons.add(_skip_reason(report))
            elif report.when == "call" or (outcome == "error" and report.when == "setup"):
                ran += 1
    line = f"browser tests: {ran} ran, {skipped} skipped"
    if modules:
        line += f", {modules} browser modules skipped"
    return line + (f" ({'; '.join(sorted(reasons))})" if reasons else "")


def _skip_reason(report: Any) -> str:
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "skipped")


@pytest.fixture
def world(app: Flask) -> World:
    return World(app)


@pytest.fixture
def answered(app: Flask, world: World) -> dict[str, list[Any]]:
    """Store responses over 2025 in the province and both communes; return what to ask for.

    A repeated dossier code makes duplicates and one response is flagged, so every status
    appears in the pages and in the figures.
    """
    with app.app_context():
        province = db.session.get(Agency, world.province_id)
        codes = [world.code_a, world.code_b, create_code(province, "Quầy 5", "XAY_DUNG").code]
        survey_codes = list(
            db.session.scalars(select(SurveyCode).where(SurveyCode.code.in_(codes)))
        )
        for n in range(36):
            when = datetime(2025, 1 + n % 12, 1 + n % 28, 8 + n % 9, tzinfo=LOCAL_ZONE)
            response = record(survey_codes[n % len(survey_codes)], when.astimezone(UTC),
                              f"schemathesis-{n}", answers=varied_answers(n),
                              language=["vi", "en"][n % 2])
            if n == 7:
                rollups.change_status(db.session, response, "flagged", "manual:abuse")
        db.session.commit()
    return {
        "agencies": ["TINH", "XA-A", "XA-B", "xa-a"],
        "counters": [world.counter_a_id, world.counter_b_id],
        "sectors": ["DAT_DAI", "HO_TICH", "XAY_DUNG"],
    }


# Browser tests: one Chromium and one live server for the whole run ------------------------


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[browser_support.LiveServer]:
    """The app on a SQLite file holding the demo province, served once from a thread."""
    directory = tmp_path_factory.mktemp("live-server")
    with browser_support.serve(directory, browser_support.load_demo_data) as live:
        yield live


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, launched once through Playwright."""
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright is not installed: pip install -e '.[test]' to run the browser tests",
    )
    sync_api.expect.set_options(timeout=browser_support.TIMEOUT_MS)
    with browser_support.chromium() as launched:
        yield launched


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
