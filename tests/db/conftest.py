"""The app on each test database: migrated and seeded once, a rolled-back transaction per test.

Every test that uses `app` (or `client`, `runner`, `world`...) runs on SQLite, and again
on PostgreSQL when TEST_DATABASE_URL names a (throw-away) PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text

from survey_app import create_app, normalise_database_url
from survey_app.extensions import db
from survey_app.models import Agency, SurveyCode
from survey_app.services import rollups
from tests.databases import BACKENDS, POSTGRES_URL
from tests.factories import LOCAL_ZONE, World, create_code, record, seeded_app, varied_answers


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
    # Reference data that every test may rely on, committed once.
    seeded_app(url)
    return url


@pytest.fixture(scope="session")
def shared_app(database_url: str) -> Flask:
    """The one app on a test database for the whole run.

    Creating an app costs far more than most tests; the `app` fixture lends this one to
    each test and puts back whatever a test may change. A test that needs other settings
    from the start creates an app of its own (factories.make_app, or create_app).
    """
    return create_app({"DATABASE_URL": database_url})


# What the app keeps between requests in its own process: the rate limits' counts and the
# caches of recently read codes and of rendered blank forms (services/caches.py).
LIMITER = "survey_app.limiter"
CACHES = ("survey_app.recent_codes", "survey_app.blank_forms")


def forget_what_requests_left(app: Flask) -> None:
    """Empty the limiter's counts and the per-app caches, as in a fresh process."""
    app.extensions[LIMITER].reset()
    for key in CACHES:
        app.extensions.pop(key, None)


@pytest.fixture
def app(shared_app: Flask) -> Iterator[Flask]:
    """Return the app bound to one connection whose transaction is rolled back after.

    Whatever the test changes is undone: its rows (the rollback), its settings (restored
    from a copy), the rate limits' counts and the caches. Each test makes its own clients,
    so no cookie, session or sign-in carries over.
    """
    app = shared_app
    settings = dict(app.config)
    connection = db.engine_for(app).connect()
    transaction = connection.begin()
    db.bind_app_to(app, connection)
    forget_what_requests_left(app)
    try:
        yield app
    finally:
        transaction.rollback()
        connection.close()
        db.bind_app_to(app, db.engine_for(app))
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
