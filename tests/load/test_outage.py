"""A database restart costs the citizen nothing: the form stays, the answers stay, one response.

The module runs a PostgreSQL cluster of its own (initdb into a temporary directory, a free
port on the loopback), so that it can stop and start the database under the app; the
shared server and TEST_DATABASE_URL are never touched. It runs once, not per backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_app import create_app
from survey_app.extensions import db
from survey_app.models import Response
from tests.factories import (
    VALID_ANSWERS,
    count_rows,
    create_code,
    free_port,
    hidden_value,
    open_form,
    seeded_app,
)
from tests.load.clusters import Cluster, new_directory, removed_at_the_end, unavailable

_why_not = unavailable("the outage test")
if _why_not:
    pytest.skip(_why_not, allow_module_level=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    cluster = Cluster(new_directory("survey-outage-"), free_port())
    with removed_at_the_end(cluster):
        cluster.create()
        cluster.start()
        yield cluster


@pytest.fixture(scope="module")
def outage_app(cluster: Cluster) -> Iterator[tuple[Flask, str]]:
    """Return the app on the cluster, migrated and seeded, and the string of one code."""
    app = seeded_app(cluster.url)
    with app.app_context():
        code = create_code().code
        db.session.commit()
    yield app, code
    db.engine_for(app).dispose()


def is_checked(html: str, name: str, value: str) -> bool:
    """Say whether the page shows this choice checked."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"[^>]*>', html)
    return tag is not None and " checked" in tag.group(0)


def test_answers_sent_during_a_restart_wait_on_the_page_and_are_stored_once_after(
    cluster: Cluster, outage_app: tuple[Flask, str]
) -> None:
    app, code = outage_app
    citizen: FlaskClient = app.test_client()
    tokens = open_form(citizen, code)
    posted = {**VALID_ANSWERS, **tokens}

    cluster.stop()
    try:
        # Reading the form again (a reload, the language link) still works from the cache.
        reread = citizen.get(f"/s/{code}")
        assert reread.status_code == 200
        page = reread.get_data(as_text=True)
        assert "Trung tâm Phục vụ hành chính công tỉnh" in page
        assert "Quầy 3 · Đất đai" in page
        assert hidden_value(page, "submit_token") != tokens["submit_token"]

        refused = citizen.post(f"/s/{code}", data=posted)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 503
        assert 0 < int(refused.headers["Retry-After"]) <= 120
        assert "chưa được lưu" in page
        assert "Trung tâm Phục vụ hành chính công tỉnh" in page
        for key in ("q1", "q2", "q3", "q4", "q5", "q6", "q7"):
            assert is_checked(page, key, VALID_ANSWERS[key]), key
        for wish in VALID_ANSWERS["q8"]:
            assert is_checked(page, "q8", wish), wish
        assert VALID_ANSWERS["comment"] in page
        # The same token: whichever press after the restart lands, one response is made.
        assert hidden_value(page, "submit_token") == tokens["submit_token"]
    finally:
        cluster.start()

    resent = {**posted, "csrf_token": hidden_value(page, "csrf_token")}
    stored = citizen.post(f"/s/{code}", data=resent)
    assert stored.status_code == 303
    assert stored.headers["Location"].endswith(f"/s/{code}/thanks")
    assert count_rows(app, Response) == 1

    again = citizen.post(f"/s/{code}", data=resent)
    assert again.status_code == 303
    assert again.headers["Location"].endswith(f"/s/{code}/thanks")
    assert count_rows(app, Response) == 1


def test_a_worker_that_has_not_shown_the_form_lately_keeps_the_answers_too(
    cluster: Cluster, outage_app: tuple[Flask, str]
) -> None:
    app, code = outage_app
    citizen = app.test_client()
    tokens = open_form(citizen, code)
    posted = {**VALID_ANSWERS, **tokens}
    # Another worker: its own caches, empty, and the same database.
    other_worker = create_app({"DATABASE_URL": app.config["DATABASE_URL"]}).test_client()
    before = count_rows(app, Response)

    cluster.stop()
    try:
        unknown = other_worker.get(f"/s/{code}")
        assert unknown.status_code == 503
        assert 0 < int(unknown.headers["Retry-After"]) <= 120
        assert "Hệ thống đang tạm gián đoạn" in unknown.get_data(as_text=True)

        refused = other_worker.post(f"/s/{code}", data=posted)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 503
        assert "Retry-After" in refused.headers
        assert "chưa được lưu" in page
        assert f"Mã đánh giá · {code}" in page  # the place, in general words
        for key in ("q1", "q2", "q3", "q4", "q5", "q6", "q7"):
            assert is_checked(page, key, VALID_ANSWERS[key]), key
        assert hidden_value(page, "submit_token") == tokens["submit_token"]
    finally:
        cluster.start()

    stored = citizen.post(f"/s/{code}", data=posted)
    assert stored.status_code == 303
    assert count_rows(app, Response) == before + 1


def test_a_restart_between_two_requests_goes_unnoticed(
    cluster: Cluster, outage_app: tuple[Flask, str]
) -> None:
    app, code = outage_app
    citizen = app.test_client()
    tokens = open_form(citizen, code)  # the worker's pooled connection dies with the restart
    before = count_rows(app, Response)

    cluster.stop()
    cluster.start()

    stored = citizen.post(f"/s/{code}", data={**VALID_ANSWERS, **tokens})
    assert stored.status_code == 303
    assert stored.headers["Location"].endswith(f"/s/{code}/thanks")
    assert count_rows(app, Response) == before + 1
