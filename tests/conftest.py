"""What every kind of test shares: the test settings, which databases the run covers, one
Chromium for the whole run, and the summary lines CI reads.

The tests live in folders by kind, each with its own fixtures in its conftest.py:

- tests/unit: no app and no database (scoring, the questionnaire, text, settings, ...);
- tests/db: the app on each test database, a rolled-back transaction per test;
- tests/browser: Chromium through Playwright against a live server (marker `browser`);
- tests/load: gunicorn, loopback load and a database outage (marker `load` for the load).

Every test that uses `app` runs on SQLite, and again on PostgreSQL when
TEST_DATABASE_URL names a (throw-away) PostgreSQL database. Builders and page readers
that tests share are in tests/factories.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ["APP_ENV"] = "testing"

from tests.browser import support as browser_support  # noqa: E402
from tests.databases import BACKENDS, POSTGRES_URL  # noqa: E402


def pytest_report_header(config: pytest.Config) -> str:
    where = "SQLite" + (" and PostgreSQL (TEST_DATABASE_URL)" if POSTGRES_URL else "")
    return f"databases: {where}"


# Parallel workers (make test runs pytest -n auto --dist loadgroup): tests that share
# something costly to build are kept on one worker, so that it is built once.
SERIAL_GROUPS = {
    "tests/browser/": "browser",  # one live server over the demo data, one Chromium
    "tests/load/test_load.py": "load",  # one database and gunicorn servers for the module
    "tests/load/test_outage.py": "outage",  # one PostgreSQL cluster for the module
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put each test that shares costly fixtures with others in an xdist group.

    The browser tests and each load module go to one worker; a module marked
    `rows_per_module` goes to one worker per database. Without workers this changes
    nothing.
    """
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        group = next((g for prefix, g in SERIAL_GROUPS.items() if path.startswith(prefix)), None)
        if group is None and item.get_closest_marker("rows_per_module"):
            callspec = getattr(item, "callspec", None)
            backend = callspec.params.get("database_url", "") if callspec else ""
            group = f"{path}[{backend}]"
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


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

    A browser test is one marked `browser`; a module of tests/browser/ skipped as a whole
    (no Chromium, say) is counted apart.
    """
    ran, skipped, modules, reasons = 0, 0, 0, set()
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in stats.get(outcome, []):
            keywords = getattr(report, "keywords", None)
            if keywords is None:  # a collection report: a whole module skipped
                nodeid = getattr(report, "nodeid", "")
                if outcome == "skipped" and "/browser/" in nodeid:
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


# One Chromium for the whole run: the browser tests, and the QR test that reads an SVG as
# Chromium draws it (tests/db/test_qr.py).


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
