"""A database restart costs the citizen nothing: the form stays, the answers stay, one response.

The module runs a PostgreSQL cluster of its own (initdb into a temporary directory, a free
port on the loopback), so that it can stop and start the database under the app; the
shared server and TEST_DATABASE_URL are never touched. It runs once, not per backend.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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

STEP_TIMEOUT = 30  # seconds for initdb or pg_ctl; each takes about one on an idle machine


def _postgres_bin() -> Path | None:
    """Return the directory of initdb and pg_ctl: on the PATH, or Debian's newest."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = [Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [folder for folder in found if folder.parent.name.isdigit()]
    return max(found, key=lambda folder: int(folder.parent.name), default=None)


def _has_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


_found = _postgres_bin()
if _found is None:
    pytest.skip(
        "the outage test needs PostgreSQL's server programs (initdb, pg_ctl): "
        "apt-get install postgresql",
        allow_module_level=True,
    )
POSTGRES_BIN: Path = _found

# PostgreSQL refuses to run as root: as root, the cluster is run by the postgres account.
AS_OWNER: list[str] = []
if os.geteuid() == 0:
    if shutil.which("runuser") is None or not _has_account("postgres"):
        pytest.skip(
            "the outage test runs as root but finds no postgres account (or no runuser) to "
            "run its PostgreSQL cluster",
            allow_module_level=True,
        )
    AS_OWNER = ["runuser", "-u", "postgres", "--"]


def _run(program: str, *args: str, cwd: Path, check: bool = True) -> None:
    """Run one of PostgreSQL's programs as the cluster's owner; fail with what it said."""
    done = subprocess.run(
        [*AS_OWNER, str(POSTGRES_BIN / program), *args],
        capture_output=True, text=True, timeout=STEP_TIMEOUT, cwd=cwd,
    )
    if check and done.returncode != 0:
        pytest.fail(f"{program} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


@dataclass
class Cluster:
    """A throw-away PostgreSQL cluster listening on the loopback only."""

    directory: Path
    port: int

    @property
    def data(self) -> str:
        return str(self.directory / "data")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres?connect_timeout=3"

    def create(self) -> None:
        _run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
             "--no-locale", "--no-sync", cwd=self.directory)

    def start(self) -> None:
        # Its socket in its own directory, and nothing on disk worth syncing.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.directory} -c fsync=off"
        )
        _run("pg_ctl", "-D", self.data, "-l", str(self.directory / "server.log"),
             "-o", options, "-w", "start", cwd=self.directory)

    def stop(self, mode: str = "fast", check: bool = True) -> None:
        """Stop as a restart does: every connection is cut, nothing waits for clients."""
        _run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", cwd=self.directory,
             check=check)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # Under /tmp itself, not pytest's private temporary folder: the postgres account must
    # reach it.
    directory = Path(tempfile.mkdtemp(prefix="survey-outage-"))
    if AS_OWNER:
        shutil.chown(directory, user="postgres")
    cluster = Cluster(directory, free_port())
    try:
        cluster.create()
        cluster.start()
        yield cluster
    finally:
        cluster.stop("immediate", check=False)
        shutil.rmtree(directory, ignore_errors=True)


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
