"""Fixtures: the app on each test database, a rolled-back transaction per test, factories.

Every test that uses `app` runs on SQLite, and again on PostgreSQL when
TEST_DATABASE_URL names a (throw-away) PostgreSQL database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text

os.environ["APP_ENV"] = "testing"

from survey_app import create_app, normalise_database_url  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.models import Agency, Counter, Response, Sector, SurveyCode  # noqa: E402
from survey_app.questionnaire import CURRENT  # noqa: E402
from survey_app.services.codes import create_survey_code  # noqa: E402
from survey_app.services.migrate import upgrade  # noqa: E402
from survey_app.services.recording import record_response  # noqa: E402
from survey_app.services.seed import seed_sectors, seed_targets  # noqa: E402
from tests import browser_support  # noqa: E402

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


# Factories ---------------------------------------------------------------------------


def create_agency(code: str = "TTHCC", name: str = "Trung tâm Phục vụ hành chính công tỉnh",
                  level: str = "province", parent: Agency | None = None) -> Agency:
    agency = Agency(code=code, name=name, level=level, parent=parent)
    db.session.add(agency)
    db.session.flush()
    return agency


def create_code(agency: Agency | None = None, counter_name: str = "Quầy 3",
                sector_code: str = "DAT_DAI") -> SurveyCode:
    agency = agency or create_agency()
    counter = db.session.scalar(
        select(Counter).where(Counter.agency_id == agency.id, Counter.name == counter_name)
    ) or Counter(agency=agency, name=counter_name)
    db.session.add(counter)
    sector = db.session.scalar(select(Sector).where(Sector.code == sector_code))
    assert sector is not None
    return create_survey_code(db.session, agency, counter, sector)


@pytest.fixture
def survey_code(app: Flask) -> str:
    """Return the code string of an active code: provincial centre · Quầy 3 · Đất đai."""
    with app.app_context():
        code = create_code().code
        db.session.commit()
    return code


# Reading pages ----------------------------------------------------------------------


def hidden_value(html: str, name: str) -> str:
    """Return the value of a hidden input in a rendered page."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no hidden input {name!r} in the page"
    return unescape(match.group(1))


def open_form(client: FlaskClient, code: str, query: str = "") -> dict[str, str]:
    """Load the form as a browser would; return its CSRF and submit tokens."""
    page = client.get(f"/s/{code}{query}")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    return {"csrf_token": hidden_value(html, "csrf_token"),
            "submit_token": hidden_value(html, "submit_token")}


VALID_ANSWERS: dict[str, Any] = {
    "q1": "5", "q2": "4", "q3": "5", "q4": "na", "q5": "3", "q6": "4",
    "q7": "no", "q8": ["speed", "online"], "comment": "Cán bộ nhiệt tình.", "dossier": "",
}


def responses(app: Flask) -> list[Response]:
    """Return every stored response, read fresh from the database."""
    with app.app_context():
        rows = list(db.session.scalars(select(Response).order_by(Response.id)))
        for row in rows:
            _ = row.wishes, row.survey_code  # load before the session closes
        db.session.expunge_all()
        return rows


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


# People and places for access tests ------------------------------------------------------

PASSWORD = "mat-khau-dung-1"


class World:
    """A province with two communes, a code in each, and one account per persona."""

    def __init__(self, app: Flask) -> None:
        from survey_app.services.accounts import create_user

        with app.app_context():
            province = create_agency("TINH", "Trung tâm Phục vụ hành chính công tỉnh")
            commune_a = create_agency("XA-A", "Xã A", "commune", province)
            commune_b = create_agency("XA-B", "Xã B", "commune", province)
            code_a = create_code(commune_a, "Quầy 1", "DAT_DAI")
            code_b = create_code(commune_b, "Quầy 1", "HO_TICH")
            self.province_id, self.a_id, self.b_id = province.id, commune_a.id, commune_b.id
            self.code_a, self.code_b = code_a.code, code_b.code
            self.counter_a_id, self.counter_b_id = code_a.counter_id, code_b.counter_id
            self.sector_id = code_a.sector_id
            self.emails = {
                "staff_a": "canbo.a@xa.example",
                "staff_b": "canbo.b@xa.example",
                "manager_a": "lanhdao.a@xa.example",
                "manager_province": "lanhdao@tinh.example",
                "admin": "quantri@tinh.example",
            }
            agencies = {"staff_a": commune_a, "staff_b": commune_b, "manager_a": commune_a,
                        "manager_province": province, "admin": None}
            self.user_ids = {}
            for persona, email in self.emails.items():
                role = persona.split("_")[0]
                user = create_user(db.session, email, PASSWORD, role, agencies[persona])
                self.user_ids[persona] = user.id
            db.session.commit()

    def add_response_a(self, app: Flask) -> int:
        """Store one response with a comment through commune A's code; return its id."""
        with app.app_context():
            code = db.session.scalar(select(SurveyCode).where(SurveyCode.code == self.code_a))
            response, _ = record_response(
                db.session, code, CURRENT,
                {"q1": "5", "q2": "4", "q3": "5", "q4": "na", "q5": "na", "q6": "4",
                 "comment": "Phiếu mẫu của xã A"}, "world-a", "vi",
            )
            db.session.commit()
            self.response_a = response.id
            return response.id

    def login(self, client: FlaskClient, persona: str) -> FlaskClient:
        if persona == "anonymous":
            return client
        page = client.get("/login")
        token = hidden_value(page.get_data(as_text=True), "csrf_token")
        result = client.post("/login", data={
            "email": self.emails[persona], "password": PASSWORD, "csrf_token": token})
        assert result.status_code == 302, f"{persona} could not sign in"
        return client


@pytest.fixture
def world(app: Flask) -> World:
    return World(app)


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
