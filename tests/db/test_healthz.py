"""The health check: the proxy and the monitoring learn whether the database, the shared
rate-limit store and the disk are fit, one word per check."""

from __future__ import annotations

import pytest

from survey_app import create_app
from tests.factories import BAD_REQUEST, LOCAL_REDIS, heading_of, make_app, redis_reachable

WELL = {"status": "ok", "database": "ok", "disk": "ok"}


def test_health_check_says_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == WELL
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # a probe every few seconds leaves no session


def test_health_check_needs_no_sign_in_and_only_reads(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == WELL
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
    assert response.get_json() == {"status": "error", "database": "unreachable", "disk": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    for leak in ("Traceback", "postgres", "secret-password", "127.0.0.1", "sqlite", str(tmp_path)):
        assert leak not in body


def test_health_check_says_503_when_the_disk_is_nearly_full(app):
    # More free space asked for than any disk has: the instance folder's disk is "full".
    full = make_app(app, HEALTHZ_MIN_FREE_MB=10**12)
    response = full.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "ok", "disk": "low"}
    assert full.instance_path not in response.get_data(as_text=True)


def test_health_check_says_503_when_the_limits_redis_does_not_answer(app):
    # Nothing listens on port 1; the submissions still go through (counted in memory),
    # but the limits are no longer shared between workers: the host is unwell.
    broken = make_app(app, RATELIMIT_STORAGE_URI="redis://:secret-password@127.0.0.1:1/0")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "error", "database": "ok", "redis": "unreachable", "disk": "ok"}
    body = response.get_data(as_text=True)
    for leak in ("secret-password", "127.0.0.1", "6379", "Traceback"):
        assert leak not in body


def test_health_check_reports_redis_when_the_limits_are_counted_there(app):
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    shared = make_app(app, RATELIMIT_STORAGE_URI=LOCAL_REDIS)
    response = shared.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok", "disk": "ok"}
