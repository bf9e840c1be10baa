"""The benchmark's floor sends survey_app's own statements of a counted submission, no more.

The floor (bench/bare_app.py, BARE_STATEMENTS=1) is the ceiling the performance report
holds the submission against: it must do the database's share of a real submission (the
code's lookup with its lock, the check of stored responses, the insert with its wishes and
rollups, the commit) and nothing else, or the report's argument falls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, event, text

from survey_app.extensions import db
from tests.factories import create_code, seeded_app
from tests.load.support import plain_url, postgres_server_url, throwaway_database

SERVER = postgres_server_url()


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str, str]]:
    """Return the floor app on a database of its own, a code of that database, its URL."""
    with throwaway_database(SERVER) as url, pytest.MonkeyPatch.context() as environment:
        app = seeded_app(url)
        with app.app_context():
            code = create_code().code
            db.session.commit()
        db.engine_for(app).dispose()
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE bench_bare_rows "
                                    "(LIKE responses INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        engine.dispose()
        page = tmp_path_factory.mktemp("floor") / "page.html"
        page.write_text("<!doctype html><title>form</title>", "utf-8")
        environment.setenv("DATABASE_URL", plain_url(url))
        environment.setenv("BARE_PAGE_FILE", str(page))
        environment.setenv("BARE_STATEMENTS", "1")
        # The module makes its app on import, as gunicorn loads it (`bench.bare_app:app`).
        from bench import bare_app

        yield bare_app.app, code, url
        bare_app.app.extensions["bench.engine"].dispose()


def test_the_floor_stores_a_counted_response_in_four_statements(
    floor: tuple[Flask, str, str],
) -> None:
    app, code, url = floor
    sent: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        sent.append(sql)

    def commit(_conn: Any) -> None:
        sent.append("COMMIT")

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    try:
        answer = app.test_client().post(f"/s/{code}", data={"q1": "5"})
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Engine, "commit", commit)
    assert answer.status_code == 303
    assert len(sent) == 4
    assert "pg_advisory_xact_lock" in sent[0]
    assert "EXISTS" in sent[1]
    assert "INSERT INTO responses" in sent[2] and "tally_years" in sent[2]
    assert sent[3] == "COMMIT"

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(text(
                "SELECT r.status, count(w.wish) FROM responses r "
                "LEFT JOIN response_wishes w ON w.response_id = r.id "
                "WHERE r.submit_nonce LIKE 'floor-%' GROUP BY r.id, r.status")).all()
            counted = connection.execute(text(
                "SELECT sum(d.responses) FROM tally_days d JOIN survey_codes c "
                "ON c.id = d.survey_code_id WHERE c.code = :code AND d.status = 'counted'"),
                {"code": code}).scalar()
    finally:
        engine.dispose()
    assert stored == [("counted", 2)]
    assert counted == 1
