"""The app on each test database: migrated and seeded once, a rolled-back transaction per test.

Every test that uses `app` (or `client`, `runner`, `world`...) runs on SQLite, and again
on PostgreSQL when TEST_DATABASE_URL names a (throw-away) PostgreSQL database.

A module whose tests all read the same rows marks itself
`pytestmark = pytest.mark.rows_per_module("module_world", "spread", ...)`: its tests
then share one connection whose transaction lasts the module, those module fixtures
build their rows once in it, and each test runs in a savepoint rolled back after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection

from survey_app import create_app
from survey_app.extensions import db
from tests import databases
from tests.databases import BACKENDS
from tests.factories import (
    World,
    answers_over_2025,
    create_code,
    rolled_back_connection,
    seeded_app,
)


class TestDatabases:
    """This process's test databases, one per kind, each with its one app, made when first
    asked for and kept to the end of the run.

    A worker may run tests on SQLite, then on PostgreSQL, then on SQLite again: the
    databases are not made again when the kind changes.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.apps: dict[str, Flask] = {}
        self.created: list[str] = []

    def app(self, backend: str) -> Flask:
        if backend not in self.apps:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
            else:
                url, created = databases.postgres_database()
                if created:
                    self.created.append(url)
            # Migrated, with the reference data every test may rely on, committed once.
            seeded_app(url)
            self.apps[backend] = create_app({"DATABASE_URL": url})
        return self.apps[backend]

    def drop_created(self) -> None:
        for url in self.created:
            databases.drop_database(url)  # WITH (FORCE): our pooled connections too


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL twin of a case marked `sqlite_only`."""
    kept, dropped = [], []
    for item in items:
        twin = item.get_closest_marker("sqlite_only") and "[postgresql" in item.nodeid
        (dropped if twin else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    store = TestDatabases(tmp_path_factory)
    yield store
    store.drop_created()


@pytest.fixture(scope="session", params=BACKENDS)
def shared_app(request: pytest.FixtureRequest, test_databases: TestDatabases) -> Flask:
    """The one app on a freshly migrated test database of one kind, for the whole run.

    Creating an app costs far more than most tests; the `app` fixture lends this one to
    each test and puts back whatever a test may change. A test that needs other settings
    from the start creates an app of its own (factories.make_app, or create_app).
    """
    return test_databases.app(request.param)


@pytest.fixture(scope="session")
def database_url(shared_app: Flask) -> str:
    """Return the URL of the test database (this worker's own) of the test's kind."""
    url: str = shared_app.config["DATABASE_URL"]
    return url


# What the app keeps between requests in its own process: the rate limits' counts and the
# caches of recently read codes and of rendered blank forms (services/caches.py).
LIMITER = "survey_app.limiter"
CACHES = ("survey_app.recent_codes", "survey_app.blank_forms", "survey_app.board_pages")


def forget_what_requests_left(app: Flask) -> None:
    """Empty the limiter's counts and the per-app caches, as in a fresh process."""
    app.extensions[LIMITER].reset()
    for key in CACHES:
        app.extensions.pop(key, None)


@pytest.fixture(scope="module")
def module_connection(shared_app: Flask) -> Iterator[Connection]:
    """One connection for a module's tests, in a transaction rolled back after the module.

    For the modules marked `rows_per_module`: the rows built once for the module stay in
    this transaction, and each test runs in a savepoint of it (see `app`).
    """
    with rolled_back_connection(shared_app) as connection:
        yield connection


@pytest.fixture
def test_connection(request: pytest.FixtureRequest, shared_app: Flask) -> Iterator[Connection]:
    """The connection a test runs on: its own, or its module's (`rows_per_module`)."""
    if request.node.get_closest_marker("rows_per_module"):
        yield request.getfixturevalue("module_connection")
        return
    with rolled_back_connection(shared_app) as connection:
        yield connection


@pytest.fixture
def app(request: pytest.FixtureRequest, shared_app: Flask,
        test_connection: Connection) -> Iterator[Flask]:
    """Return the app bound to a connection; everything the test writes is undone after it.

    The test runs in a savepoint, rolled back after it; its settings are restored from a
    copy, and the rate limits' counts and the caches emptied. Each test makes its own clients,
    so no cookie, session or sign-in carries over. In a module marked
    `rows_per_module("fixture", ...)`, those module fixtures are built first, outside
    the savepoint, once for the module.
    """
    marker = request.node.get_closest_marker("rows_per_module")
    for name in marker.args if marker else ():
        request.getfixturevalue(name)
    app = shared_app
    settings = dict(app.config)
    savepoint = test_connection.begin_nested()
    db.bind_app_to(app, test_connection)
    forget_what_requests_left(app)
    try:
        yield app
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        app.config.clear()
        app.config.update(settings)
        forget_what_requests_left(app)


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


@pytest.fixture(scope="module")
def module_world(shared_app: Flask, module_connection: Connection) -> World:
    """The world of a module marked `rows_per_module("module_world")`, built once."""
    return World(shared_app)


@pytest.fixture
def world(request: pytest.FixtureRequest, app: Flask) -> World:
    """A province with two communes and one account per persona (factories.World)."""
    marker = request.node.get_closest_marker("rows_per_module")
    if marker and "module_world" in marker.args:
        kept: World = request.getfixturevalue("module_world")
        return kept.for_one_test()
    return World(app)


@pytest.fixture
def bearer(request: pytest.FixtureRequest, world: World) -> dict[str, str]:
    """The Authorization header with a new API token of the persona the test names:
    @pytest.mark.parametrize("bearer", ["manager_a", ...], indirect=True)."""
    return world.bearer(request.param)


@pytest.fixture
def answered(app: Flask, world: World) -> dict[str, list[Any]]:
    """Store responses over 2025 in the province and both communes; return what to ask for
    (factories.answers_over_2025)."""
    return answers_over_2025(app, world)
