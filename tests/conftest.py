"""What every kind of test shares: the test settings, which databases the run covers, one
Chromium for the whole run, and the summary lines CI reads.

The tests live in folders by kind, each with its own fixtures in its conftest.py:

- tests/unit: no app and no database (scoring, the questionnaire, text, settings, ...);
- tests/db: the app on each test database, a rolled-back transaction per test;
- tests/browser: Chromium through Playwright against a live server (marker `browser`);
- tests/load: gunicorn, loopback load, a database outage and a read replica (marker `load`
  for the load).

Every test that uses `app` runs on SQLite, and again on PostgreSQL when
TEST_DATABASE_URL names a (throw-away) PostgreSQL database. Builders and page readers
that tests share are in tests/factories.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

os.environ["APP_ENV"] = "testing"

from tests.browser import support as browser_support  # noqa: E402
from tests.databases import BACKENDS, POSTGRES_URL  # noqa: E402


def pytest_report_header(config: pytest.Config) -> str:
    where = "SQLite" + (" and PostgreSQL (TEST_DATABASE_URL)" if POSTGRES_URL else "")
    return f"databases: {where}"


# Parallel workers --------------------------------------------------------------------------
# make test runs pytest -n auto --dist loadgroup. The tests are handed to the workers in
# work units, and each unit runs whole on one worker: each module, and each database
# module once per kind of database. So what a module's tests share is built once (the
# rows of a rows_per_module module, a load module's database, gunicorn servers and
# PostgreSQL cluster), and a worker that moves from SQLite to PostgreSQL and back never
# does so in the middle of a module. The browser modules share one live server and one
# Chromium per worker. The longest units go first: the load modules, then the browser's.

KINDS = ("tests/load/", "tests/browser/", "tests/db/", "tests/unit/")
BACKEND_IN_ID = re.compile(r"\[(?:[^\]]*-)?(sqlite|postgresql)(?:-[^\]]*)?\]")


def work_unit(nodeid: str) -> str:
    """Return the work unit of a test (its module, with the database for tests/db)."""
    path = nodeid.split("::", 1)[0]
    if path.startswith("tests/db/"):
        backend = BACKEND_IN_ID.search(nodeid)
        return f"{path}[{backend.group(1)}]" if backend else path
    return path


def kind_rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return next((n for n, kind in enumerate(KINDS) if path.startswith(kind)), len(KINDS))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the kinds in the order of KINDS, each in the order pytest gave it."""
    items.sort(key=kind_rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With --dist loadgroup, hand out the tests in the work units of `work_unit`.

    (xdist's own loadgroup scheduling reads groups from a node id suffix that pytest 9.2
    no longer lets it add, so every test would be a unit of its own.)
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    # Units in the order of the collection (longest kinds first), not by number of tests.
    config.option.loadscopereorder = False
    return WorkUnitScheduling(config, log)


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
