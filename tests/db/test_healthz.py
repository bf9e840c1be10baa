"""The health check: the proxy and the monitoring learn whether the database answers."""

from __future__ import annotations

import pytest

from survey_app import create_app
from tests.factories import BAD_REQUEST, heading_of


def test_health_check_says_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # a probe every few seconds leaves no session


def test_health_check_needs_no_sign_in_and_only_reads(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok", "database": "ok"}
    refused = client.post("/healthz")
    assert refused.status_code == 405
    assert heading_of(refused) == BAD_REQUEST


@pytest.mark.parametrize(
    "unreachable",
    [
        # Nothing listens on port 1: the connection is refused at once.
        "postgresql+psycopg://postgres:secret-password@127.0.0.1:1/survey?connect_timeout=1",
        "sqlite:///{tmp}/no-such-directory/survey.sqlite3",
    ],
    ids=["postgresql-closed-port", "sqlite-missing-directory"],
)
def test_health_check_says_503_and_nothing_more_when_the_database_is_unreachable(
    tmp_path, unreachable
):
    app = create_app({"DATABASE_URL": unreachable.format(tmp=tmp_path)})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    for leak in ("Traceback", "postgres", "secret-password", "127.0.0.1", "sqlite", str(tmp_path)):
        assert leak not in body
