"""With DATABASE_REPLICA_URL, the pages that only read are served by a streaming replica;
writes, and what must see them at once, go to the primary; a stopped replica costs a
warning in the log, never an error page.

The module runs a primary and its streaming replica of its own (initdb, a replication
user, pg_basebackup -R; free ports on the loopback, a temporary directory), so that it can
hold the replica back (pg_wal_replay_pause) or stop it under the app. The shared server
and TEST_DATABASE_URL are never touched. It runs once, not per backend.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.pool import NullPool

from survey_app import create_app
from survey_app.extensions import RoutingSession, db
from survey_app.models import Agency, ApiToken, AuditEvent, Response, SurveyCode, utcnow
from survey_app.services import audit
from tests.factories import (
    VALID_ANSWERS,
    api_get,
    audit_events,
    count_rows,
    create_code,
    csrf_token,
    free_port,
    is_thanks,
    make_user,
    seeded_app,
    sign_in,
    submit,
    token_for_user,
    words_of,
)
from tests.load.clusters import Cluster, new_directory, removed_at_the_end, unavailable

_why_not = unavailable("the replica test", "initdb, pg_ctl, pg_basebackup")
if _why_not:
    pytest.skip(_why_not, allow_module_level=True)

MANAGER = "quanly@tthcc.example"
ADMIN = "quantri@tinh.example"
# Seconds a refusing replica is left alone (on the failover test's own clock).
RETRY_SECONDS = 30
REPLICATION_USER = "replicator"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Pair:
    primary: Cluster
    replica: Cluster
    app: Flask  # reads from the replica where the views say so
    code: str
    token: str


def scalar(cluster: Cluster, statement: str, **params: object) -> object:
    """Ask one cluster directly, as its superuser."""
    engine = create_engine(cluster.url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def wait_for_replay(pair: Pair) -> None:
    """Wait until the replica has replayed everything the primary has written."""
    lsn = str(scalar(pair.primary, "SELECT pg_current_wal_lsn()"))
    deadline = time.monotonic() + 15
    while not scalar(pair.replica, "SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)",
                     lsn=lsn):
        assert time.monotonic() < deadline, "the replica did not catch up with the primary"
        time.sleep(0.05)


@contextmanager
def replay_paused(pair: Pair) -> Iterator[None]:
    """Hold the replica at what it has now: later writes reach the primary only."""
    wait_for_replay(pair)
    scalar(pair.replica, "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        scalar(pair.replica, "SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    primary = Cluster(new_directory("survey-primary-"), free_port(),
                      ["wal_level=replica", "max_wal_senders=4"])
    replica = Cluster(new_directory("survey-replica-"), free_port())
    with removed_at_the_end(replica, primary):
        primary.create()
        primary.start()
        scalar(primary, f"CREATE ROLE {REPLICATION_USER} WITH REPLICATION LOGIN")
        replica.copy_of(primary, REPLICATION_USER)
        replica.start()

        seeded = seeded_app(primary.url)
        with seeded.app_context():
            code = create_code().code
            db.session.commit()
        manager = make_user(seeded, MANAGER, "manager", "TTHCC")
        token = token_for_user(seeded, manager)
        db.engine_for(seeded).dispose()

        app = create_app({"DATABASE_URL": primary.url, "DATABASE_REPLICA_URL": replica.url,
                          "REPLICA_RETRY_SECONDS": RETRY_SECONDS})
        try:
            yield Pair(primary, replica, app, code, token)
        finally:
            found = db.replica_for(app)
            if found is not None:
                found.engine.dispose()
            db.engine_for(app).dispose()


def answer(pair: Pair) -> None:
    """A citizen (a phone of their own) sends the form; it must be stored."""
    assert is_thanks(submit(pair.app.test_client(), pair.code, VALID_ANSWERS), pair.code)


def api_responses(pair: Pair) -> int:
    today = datetime.now(ZONE).date().isoformat()
    status, body = api_get(pair.app.test_client(), "/tallies", pair.token,
                           **{"from": today, "to": today})
    assert status == 200, body
    return int(body["scopes"]["all"]["responses"])


def dashboard_words(client: FlaskClient) -> str:
    page = client.get("/dashboard/")
    assert page.status_code == 200
    return words_of(page)


def test_the_app_reads_the_replica_only_when_the_setting_names_one(pair):
    with pair.app.test_request_context("/"):
        assert isinstance(db.session, RoutingSession)
    plain = create_app({"DATABASE_URL": pair.primary.url})
    try:
        assert db.replica_for(plain) is None
        with plain.test_request_context("/"):
            db.read_from_replica()
            assert not isinstance(db.session, RoutingSession)
            assert db.session.scalar(select(func.inet_server_port())) == pair.primary.port
    finally:
        db.engine_for(plain).dispose()


def test_dashboard_api_and_exports_read_the_replica_while_answers_reach_the_primary(pair):
    answer(pair)  # the form's POST goes to the primary: the replica would refuse it
    manager = sign_in(pair.app.test_client(), MANAGER)
    wait_for_replay(pair)
    before = api_responses(pair)
    exports_before = len(audit_events(pair.app, "export.downloaded"))

    with replay_paused(pair):
        answer(pair)
        assert count_rows(pair.app, Response) == before + 1  # on the primary at once

        # The replica still has the older figure, and the read pages show that one.
        assert api_responses(pair) == before
        words = dashboard_words(manager)
        assert f"{before} phiếu" in words and f"{before + 1} phiếu" not in words
        download = manager.get("/exports/tallies.csv")
        assert download.status_code == 200
        assert download.get_data()  # streamed from the replica
        # The download is recorded on the primary, in the same request.
        assert len(audit_events(pair.app, "export.downloaded")) == exports_before + 1
        assert pair.app.test_client().get("/cong-khai/niem-phong").status_code == 200
        assert pair.app.test_client().get("/cong-khai").status_code == 200

    wait_for_replay(pair)
    assert api_responses(pair) == before + 1
    assert f"{before + 1} phiếu" in dashboard_words(manager)


def test_within_a_request_reads_after_a_write_go_to_the_primary(pair):
    def port() -> object:
        return db.session.scalar(select(func.inet_server_port()))

    with pair.app.test_request_context("/"):
        assert port() == pair.primary.port  # a view that did not ask for the replica
        db.read_from_replica()
        assert port() == pair.replica.port
        with db.reading_primary():
            assert port() == pair.primary.port
        assert port() == pair.replica.port

        audit.record(db.session, "replica.checked")  # flushed, not committed
        assert port() == pair.primary.port
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "replica.checked")) == 1
        db.session.rollback()
        assert port() == pair.replica.port

        # A statement that writes (no row here) counts as much as a flush.
        db.session.execute(
            update(SurveyCode).where(SurveyCode.id == -1).values(code=SurveyCode.code))
        assert port() == pair.primary.port
        db.session.commit()
        assert port() == pair.replica.port


def test_a_sign_out_and_a_revoked_token_count_at_once_on_replica_pages(pair):
    manager = sign_in(pair.app.test_client(), MANAGER)
    thief = pair.app.test_client()
    cookie = manager.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    assert thief.get("/dashboard/").status_code == 200
    wait_for_replay(pair)

    with replay_paused(pair):
        signed_out = manager.post("/logout", data={"csrf_token": csrf_token(manager)})
        assert signed_out.status_code in (302, 303)
        # The replica still holds the session; the door reads the primary, which does not.
        refused = thief.get("/dashboard/")
        assert refused.status_code == 302 and "/login" in refused.headers["Location"]

        with pair.app.app_context():
            for token in db.session.scalars(select(ApiToken)):
                token.revoked_at = utcnow()
            db.session.commit()
        today = datetime.now(ZONE).date().isoformat()
        status, _ = api_get(pair.app.test_client(), "/tallies", pair.token,
                            **{"from": today, "to": today})
        assert status == 401
    with pair.app.app_context():
        for token in db.session.scalars(select(ApiToken)):
            token.revoked_at = None
        db.session.commit()


def test_after_their_own_change_a_person_reads_the_primary_for_a_while(pair):
    with pair.app.app_context():
        agency = db.session.scalar(select(Agency).where(Agency.code == "TTHCC"))
        spare = create_code(agency, counter_name="Quầy 9").code
        db.session.commit()
    make_user(pair.app, ADMIN, "admin")
    admin = sign_in(pair.app.test_client(), ADMIN)
    colleague = sign_in(pair.app.test_client(), MANAGER)
    answer(pair)
    wait_for_replay(pair)
    before = count_rows(pair.app, Response)
    assert f"{before} phiếu" in dashboard_words(admin)  # signing in is no change of theirs

    with replay_paused(pair):
        revoked = admin.post(f"/codes/{spare}/revoke", data={"csrf_token": csrf_token(admin)})
        assert revoked.status_code in (302, 303)
        answer(pair)
        # The admin's pages read the primary for a while: the newest answer shows.
        assert f"{before + 1} phiếu" in dashboard_words(admin)
        # Their colleague changed nothing: the replica serves them, one answer behind.
        words = dashboard_words(colleague)
        assert f"{before} phiếu" in words and f"{before + 1} phiếu" not in words


class Clock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_stopped_replica_sends_reads_to_the_primary_with_one_warning(pair, caplog):
    caplog.set_level(logging.WARNING, logger="survey_app.extensions")
    replica = db.replica_for(pair.app)
    assert replica is not None
    clock = replica.clock = Clock()
    manager = sign_in(pair.app.test_client(), MANAGER)
    answer(pair)
    wait_for_replay(pair)
    now = count_rows(pair.app, Response)

    pair.replica.stop()
    try:
        answer(pair)  # written on the primary, which the replica cannot follow now
        assert f"{now + 1} phiếu" in dashboard_words(manager)
        assert api_responses(pair) == now + 1
        assert manager.get("/exports/responses.csv").status_code == 200
        assert pair.app.test_client().get("/cong-khai/niem-phong").status_code == 200
        clock.now += RETRY_SECONDS - 1
        assert f"{now + 1} phiếu" in dashboard_words(manager)
        warnings = [r for r in caplog.records if "replica" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]  # one per interval
        assert warnings[0].levelno == logging.WARNING
        assert "unreachable" in warnings[0].getMessage()

        clock.now += 1  # the interval has passed: the replica is tried again, still down
        assert api_responses(pair) == now + 1
        assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 2
    finally:
        pair.replica.start()

    # Once the interval has passed again, reads return to the replica.
    clock.now += RETRY_SECONDS
    with replay_paused(pair):
        answer(pair)
        assert api_responses(pair) == now + 1  # the replica's figure, one behind
        assert count_rows(pair.app, Response) == now + 2
    assert any("reachable again" in r.getMessage() for r in caplog.records)
