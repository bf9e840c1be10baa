"""A pooled PostgreSQL connection that the server ended is replaced, with no ping per request.

The engine glances at an idle connection's socket when a request takes it from the pool
(extensions._replace_if_dead): a healthy one has nothing to read and is used as it is; one
the server closed (a restart, a terminate) has, and is replaced before the request uses it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from survey_app import extensions
from survey_app.extensions import _has_something_to_read, make_engine
from tests.databases import POSTGRES_URL

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = make_engine(POSTGRES_URL or "")
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.scalar(text("SELECT pg_backend_pid()"))
        return pid


def _terminate(pid: int) -> None:
    other = make_engine(POSTGRES_URL or "")
    try:
        with other.begin() as connection:
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()


def test_a_healthy_idle_connection_is_reused_without_a_query(engine: Engine) -> None:
    first = _backend(engine)
    raw = engine.raw_connection()
    try:
        assert not _has_something_to_read(raw.driver_connection.fileno())
    finally:
        raw.close()
    assert _backend(engine) == first


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(
    engine: Engine,
) -> None:
    first = _backend(engine)
    _terminate(first)
    # The request that takes it next gets a new connection, and its statement works.
    second = _backend(engine)
    assert second != first
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT 1")) == 1


def test_the_pool_sends_no_ping_of_its_own(engine: Engine) -> None:
    assert engine.pool._pre_ping is False  # noqa: SLF001 - the round trip this saves



def test_a_connection_that_was_sent_a_notice_is_asked_and_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something to read is not always a goodbye: a live connection answers and stays."""
    with engine.connect() as connection:
        first = connection.scalar(text("SELECT pg_backend_pid()"))
        connection.execute(text("LISTEN survey_app_test"))
        connection.commit()
    other = make_engine(POSTGRES_URL or "")
    try:
        with other.begin() as sender:
            sender.execute(text("NOTIFY survey_app_test"))
    finally:
        other.dispose()
    time.sleep(0.2)  # the notification reaches the idle pooled connection's socket
    glances: list[bool] = []

    def glance(fileno: int) -> bool:
        glances.append(_has_something_to_read(fileno))
        return glances[-1]

    monkeypatch.setattr(extensions, "_has_something_to_read", glance)
    assert _backend(engine) == first
    assert glances == [True]  # it had something to read, was asked, and answered
    assert _backend(engine) == first
    assert glances == [True, False]  # the notice was read with the question
