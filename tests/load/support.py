"""What the load tests share: a throw-away PostgreSQL database, gunicorn in a subprocess,
citizens who open the form and send it over real HTTP, and checks of what was stored.

Every loop here is bounded in count and in time, and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence, Set
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from survey_app import normalise_database_url
from survey_app.extensions import db
from survey_app.models import (
    RESPONSE_STATUSES,
    WISH_CODES,
    Response,
    ResponseWish,
    SurveyCode,
    utcnow,
)
from survey_app.services.periods import Period, deployment_zone, local_date
from survey_app.services.tallies import TallyFilter, count_answers
from tests.factories import PROJECT_ROOT, VALID_ANSWERS, free_port, hidden_value
from tests.oracle import naive_recount

requests = pytest.importorskip(
    "requests", reason="requests is not installed: pip install -e '.[test]'"
)

GUNICORN_CONFIG = PROJECT_ROOT / "gunicorn.conf.py"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# Connect and read timeouts of one request: generous, but a stuck server fails the test.
REQUEST_TIMEOUT = (5, 30)
# Attempts of one request that ends in a connection error (a worker died under it).
MAX_ATTEMPTS = 5


# PostgreSQL ------------------------------------------------------------------------------


def postgres_server_url() -> str:
    """Return the URL of the `postgres` database on TEST_DATABASE_URL's server.

    Skips the calling test module when TEST_DATABASE_URL is unset or its server is down.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith(("postgresql://", "postgres://")):
        pytest.skip(
            "load tests need PostgreSQL: set TEST_DATABASE_URL=postgresql://user@host:port/db "
            "(each load test module creates and drops its own database on that server)",
            allow_module_level=True,
        )
    server = make_url(normalise_database_url(url)).set(database="postgres")
    engine = create_engine(server, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        pytest.skip(
            f"load tests need PostgreSQL, but TEST_DATABASE_URL's server is not reachable: "
            f"{error.__class__.__name__}",
            allow_module_level=True,
        )
    finally:
        engine.dispose()
    return server.render_as_string(hide_password=False)


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """Create a database of our own on the server, yield its URL, drop it afterwards."""
    name = f"survey_load_{secrets.token_hex(6)}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def plain_url(sqlalchemy_url: str) -> str:
    """Return a postgresql:// URL (what DATABASE_URL takes) for an SQLAlchemy URL."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(
        hide_password=False
    )


# Redis -----------------------------------------------------------------------------------


def redis_storage_uri() -> str | None:
    """Return a redis:// storage URI on a random database number, or None when unreachable.

    No key is deleted afterwards: every rate-limit key expires with its window. A run's
    devices and codes are new, so their counters are its own; only the address's counter
    is shared with earlier runs, far below the generous address limit.
    """
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(64).startswith(b"+PONG"):
                return None
    except OSError:
        return None
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{random.randint(1, 15)}"


# gunicorn --------------------------------------------------------------------------------


TRACEBACK = re.compile(r"^Traceback \(most recent call last\):$", re.MULTILINE)
# An access-log line whose status is 5xx: ... "POST /s/ABCD2345" 500 ...
SERVER_ERROR_LINE = re.compile(r'^.*"[A-Z]+ [^"]*" 5\d\d .*$', re.MULTILINE)


@dataclass
class Gunicorn:
    """A running gunicorn master and what we know about it."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    workers: int

    def log(self, since: int = 0) -> str:
        return self.log_path.read_bytes()[since:].decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def tracebacks_since(self, offset: int) -> list[str]:
        """Return each traceback gunicorn or Flask logged after `offset`, with its heading."""
        text_ = self.log(offset)
        starts = [m.start() for m in TRACEBACK.finditer(text_)]
        blocks = []
        for start in starts:
            heading = text_.rfind("\n", 0, max(start - 1, 0))
            end = text_.find("\n[", start)
            blocks.append(text_[heading + 1 : end if end != -1 else len(text_)].strip())
        return blocks

    def server_errors_since(self, offset: int) -> list[str]:
        """Return the access-log lines of requests answered with a 5xx after `offset`."""
        return SERVER_ERROR_LINE.findall(self.log(offset))

    def problems_since(self, offset: int) -> str:
        """Describe the 5xx answers and tracebacks logged after `offset` ('' when none)."""
        lines = self.server_errors_since(offset)
        tracebacks = self.tracebacks_since(offset)
        if not lines and not tracebacks:
            return ""
        return "\n\n".join(
            [f"{len(lines)} answers 5xx in the access log:", *lines[:5],
             f"{len(tracebacks)} tracebacks in gunicorn's log:", *tracebacks[:3]]
        )

    def workers_answering_since(self, offset: int, method: str) -> int:
        """Return how many workers logged answers to `method` requests after `offset`.

        Reads the worker's pid from access-log lines such as `<1234> "POST /s/...`, as
        gunicorn.conf.py writes them; 0 when the log format has no pid.
        """
        return len(set(re.findall(rf'<(\d+)> "{method} ', self.log(offset))))

    def worker_pids(self) -> set[int]:
        """Return the pids of the master's children (its workers)."""
        pids: set[int] = set()
        task_dir = Path(f"/proc/{self.process.pid}/task")
        for task in task_dir.glob("*"):
            try:
                pids.update(int(p) for p in (task / "children").read_text().split())
            except OSError:
                continue
        return pids

    def worker_serving_a_client(self) -> int | None:
        """Return a worker holding an open client connection right now, if any (Linux)."""
        port = urlsplit(self.url).port
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                rows = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                fields = row.split()
                # local address "0100007F:1F90", state 01 = established, then the inode
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    inodes.add(f"socket:[{fields[9]}]")
        for pid in sorted(self.worker_pids()):
            try:
                links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            except OSError:
                continue
            if links & inodes:
                return pid
        return None

    def wait_for_workers(self, exclude: Set[int] = frozenset(), timeout: float = 20) -> set[int]:
        """Wait until the master has its full set of workers, none of them in `exclude`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            pids = self.worker_pids()
            if len(pids) == self.workers and not pids & exclude:
                return pids
            time.sleep(0.1)
        raise AssertionError(
            f"gunicorn has workers {sorted(self.worker_pids())}, not {self.workers} fresh "
            f"ones, after {timeout} s; log tail:\n{self.log_tail()}"
        )


def server_environment(database_url: str, port: int, **settings: str) -> dict[str, str]:
    """Return the environment of the served app.

    APP_ENV=development, not testing: TestingConfig fixes SECRET_KEY and PUBLIC_BASE_URL
    in code, while development reads every setting from the environment, as production
    does. MIN_SECONDS_TO_ANSWER=0 so that machine-speed submits are not flagged too fast,
    and the burst and address flags are out of reach: flags are not what the load tests
    measure (the tests of the flags under gunicorn set them back to the shipped values).
    """
    # A developer's own GUNICORN_* settings must not change what the test serves.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env.update(
        APP_ENV="development",
        DATABASE_URL=plain_url(database_url),
        SECRET_KEY="load-tests-" + "k" * 40,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        MIN_SECONDS_TO_ANSWER="0",
        BURST_PER_CODE_10_MIN="1000000",
        ADDRESS_PER_CODE_10_MIN="0",
        ADDRESS_PER_CODE_HOUR="0",
        RATELIMIT_PER_ADDRESS="100000 per hour",
        RATELIMIT_PER_CODE="100000 per hour",
        RATELIMIT_PER_DEVICE="100000 per hour",
        RATELIMIT_JUNK_PER_ADDRESS="100000 per hour",
        RATELIMIT_STORAGE_URI="memory://",
        TRUSTED_PROXIES="0",
    )
    env.update(settings)
    return env


class ServedClock:
    """The served app's clock, moved by the test: hours of a counter pass in a second.

    The app reads the time in one place (`survey_app.services.recording.utcnow`: submit
    tokens, the flags, the responses' times). Each worker reads its offset from a file
    that the test writes; rate-limit windows keep the real time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(0)

    def set(self, seconds_ahead: float) -> None:
        """Put the served app's clock this many seconds ahead of the real time."""
        staged = self.path.with_suffix(".new")
        staged.write_text(repr(float(seconds_ahead)))
        staged.replace(self.path)  # workers never read half a number


# A gunicorn configuration: the project's, plus a hook that gives each worker the clock.
CLOCK_CONFIG = """\
import runpy as _runpy

globals().update(
    {{k: v for k, v in _runpy.run_path({config!r}).items() if not k.startswith("__")}}
)


def post_worker_init(worker):
    from datetime import timedelta
    from pathlib import Path

    from survey_app.services import recording as services

    real, path = services.utcnow, Path({clock!r})

    def utcnow():
        return real() + timedelta(seconds=float(path.read_text()))

    services.utcnow = utcnow
"""


@contextmanager
def gunicorn(
    directory: Path, database_url: str, workers: int = 3, clock: ServedClock | None = None,
    **settings: str,
) -> Iterator[Gunicorn]:
    """Serve wsgi:app with gunicorn on a free loopback port; stop it afterwards.

    The project's gunicorn.conf.py (what a server runs) is read when it is there; the
    command line then sets what a load test needs: the workers, the loopback port and the
    logs, both gunicorn's (errors, tracebacks) and the access log, in one file. With a
    `clock`, the workers' time is the test's.
    """
    port = free_port()
    log_path = directory / f"gunicorn-{port}.log"
    config = ["-c", str(GUNICORN_CONFIG)] if GUNICORN_CONFIG.exists() else []
    if clock is not None:
        wrapper = directory / f"gunicorn-{port}.conf.py"
        wrapper.write_text(CLOCK_CONFIG.format(config=str(GUNICORN_CONFIG),
                                               clock=str(clock.path)))
        config = ["-c", str(wrapper)]
    command = [
        sys.executable, "-m", "gunicorn", *config,
        "--workers", str(workers),
        "--bind", f"127.0.0.1:{port}",
        "--error-logfile", "-",
        "--access-logfile", "-",
        "--log-level", "info",
        "wsgi:app",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=server_environment(database_url, port, **settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Gunicorn(process, f"http://127.0.0.1:{port}", log_path, workers)
    try:
        _wait_until_serving(server, timeout=30)
        yield server
    finally:
        _stop(process)


def _wait_until_serving(server: Gunicorn, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.process.returncode}; log tail:\n"
                        f"{server.log_tail()}")
        try:
            answer = requests.get(server.url + "/", timeout=2, allow_redirects=False)
            if answer.status_code == 200:
                server.wait_for_workers(timeout=max(deadline - time.monotonic(), 1))
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within {timeout} s; log tail:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# Citizens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """One citizen's answers, tagged by a comment no other submission carries."""

    code: str
    comment: str
    answers: dict[str, Any]

    @property
    def wishes(self) -> frozenset[str]:
        return frozenset(self.answers.get("q8") or ())


def random_answers(rng: random.Random, comment: str, dossier: str = "") -> dict[str, Any]:
    """Return a valid form's answers, varied so that every rollup column gets some counts."""
    answers = dict(VALID_ANSWERS)
    for key in ("q1", "q2", "q3", "q4", "q5", "q6"):
        answers[key] = str(rng.randint(1, 5))
    for key in ("q4", "q5"):
        if rng.random() < 0.2:
            answers[key] = "na"
    answers["q7"] = rng.choice(("", "no", "yes", "decline"))
    answers["q8"] = rng.sample(WISH_CODES, rng.randint(0, 2))
    answers["comment"] = comment
    answers["dossier"] = dossier
    return answers


def submissions(codes: Sequence[str], count: int, label: str, seed: int) -> list[Submission]:
    """Return `count` submissions spread evenly over the codes, commented load-<label>-<n>."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        comment = f"load-{label}-{n}"
        made.append(Submission(codes[n % len(codes)], comment, random_answers(rng, comment)))
    return made


@dataclass(frozen=True)
class RenderedForm:
    """A form as a phone received it: the page's cookies and its two hidden tokens."""

    url: str
    cookies: dict[str, str]
    csrf_token: str
    submit_token: str


def render_form(session: Any, base_url: str, code: str) -> RenderedForm:
    """GET the form in a cookie-keeping session; fail unless it is a 200 with both tokens."""
    url = f"{base_url}/s/{code}"
    page = session.get(url, timeout=REQUEST_TIMEOUT, allow_redirects=False)
    if page.status_code != 200:
        raise ServerAnswer("GET", url, page.status_code)
    return RenderedForm(
        url=url,
        cookies=session.cookies.get_dict(),
        csrf_token=hidden_value(page.text, "csrf_token"),
        submit_token=hidden_value(page.text, "submit_token"),
    )


def post_form(form: RenderedForm, answers: dict[str, Any]) -> Any:
    """POST the answers with the form's cookies and tokens; do not follow the redirect."""
    data = {**answers, "csrf_token": form.csrf_token, "submit_token": form.submit_token}
    with requests.Session() as session:
        return session.post(
            form.url, data=data, cookies=form.cookies, timeout=REQUEST_TIMEOUT,
            allow_redirects=False,
        )


def is_acknowledged(answer: Any, code: str) -> bool:
    """Return whether the answer is the 303 to the code's thank-you page."""
    location = answer.headers.get("Location", "")
    return answer.status_code == 303 and urlsplit(location).path == f"/s/{code}/thanks"


class ServerAnswer(Exception):
    """An answer that ends a submission: the request and the status."""

    def __init__(self, method: str, url: str, status: int) -> None:
        super().__init__(f"{method} {urlsplit(url).path} -> {status}")
        self.status = status


CONNECTION_ERRORS = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


@dataclass
class LoadRun:
    """What a run of submissions saw, shared by its client threads."""

    label: str
    clients: int
    deadline: float
    acknowledged: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    requests_sent: int = 0
    connection_errors: int = 0
    unsent: int = 0  # submissions still waiting for a client thread at the deadline
    duration: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, form opened to answer
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count_request(self) -> None:
        with self._lock:
            self.requests_sent += 1

    def count_connection_error(self) -> None:
        with self._lock:
            self.connection_errors += 1

    def _attempts(self, request: Callable[[], Any]) -> Any:
        """Send a request, again after a connection error, a bounded number of times."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.count_request()
            try:
                return request()
            except CONNECTION_ERRORS:
                self.count_connection_error()
                if attempt == MAX_ATTEMPTS or time.monotonic() > self.deadline:
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def submit(self, submission: Submission, base_url: str) -> None:
        """One citizen: open the form, send it; a dropped connection resends the same form."""
        code = submission.code
        started = time.monotonic()
        try:
            with requests.Session() as session:
                form = self._attempts(lambda: render_form(session, base_url, code))
            answer = self._attempts(lambda: post_form(form, submission.answers))
        except ServerAnswer as error:
            self._failed(str(error), error.status)
            return
        except requests.RequestException as error:
            self._failed(f"{submission.comment}: {error.__class__.__name__}: {error}", 0)
            return
        if is_acknowledged(answer, code):
            with self._lock:
                self.acknowledged.add(submission.comment)
                self.latencies.append(time.monotonic() - started)
        else:
            self._failed(f"POST /s/{code} -> {answer.status_code}", answer.status_code)

    def _failed(self, what: str, status: int) -> None:
        with self._lock:
            self.failures.append(what)
            if status >= 500:
                self.server_errors.append(what)

    def run(self, batch: Sequence[Submission], base_url: str) -> LoadRun:
        """Send every submission from `clients` threads; stop waiting at the deadline."""
        started = time.monotonic()
        with ThreadPoolExecutor(self.clients, thread_name_prefix=f"load-{self.label}") as pool:
            futures = [pool.submit(self.submit, s, base_url) for s in batch]
            done, pending = wait(futures, timeout=max(self.deadline - time.monotonic(), 0))
            for future in pending:
                future.cancel()
            for future in done:
                future.result()
        self.duration = time.monotonic() - started
        self.unsent = len(pending)
        return self

    @property
    def requests_per_second(self) -> float:
        return self.requests_sent / self.duration if self.duration else 0.0

    def latency(self, share: float) -> float:
        """Return the time within which this share of the acknowledged submissions ended."""
        ordered = sorted(self.latencies)
        return ordered[min(int(share * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def parallel(count: int, action: Callable[[int], Any], timeout: float = 60) -> list[Any]:
    """Run action(0..count-1) in as many threads, released together; return the results."""
    barrier = threading.Barrier(count, timeout=timeout)

    def released(n: int) -> Any:
        barrier.wait()
        return action(n)

    with ThreadPoolExecutor(count, thread_name_prefix="parallel") as pool:
        futures = [pool.submit(released, n) for n in range(count)]
        done, pending = wait(futures, timeout=timeout)
        for future in pending:
            future.cancel()
        assert not pending, f"{len(pending)} of {count} parallel requests did not finish"
        return [future.result() for future in futures]


# What was stored -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    comment: str | None
    code: str
    status: str
    wishes: frozenset[str]


def stored_at(app: Flask, codes: Sequence[str]) -> list[Stored]:
    """Return every response stored through these codes, with its wishes."""
    with app.app_context():
        rows = db.session.execute(
            select(Response.id, Response.comment, SurveyCode.code, Response.status)
            .join(SurveyCode, Response.survey_code_id == SurveyCode.id)
            .where(SurveyCode.code.in_(list(codes)))
        ).all()
        wishes: dict[int, set[str]] = {}
        ids = [row.id for row in rows]
        for start in range(0, len(ids), 1000):
            for response_id, wish in db.session.execute(
                select(ResponseWish.response_id, ResponseWish.wish).where(
                    ResponseWish.response_id.in_(ids[start : start + 1000])
                )
            ):
                wishes.setdefault(response_id, set()).add(wish)
        return [
            Stored(row.comment, row.code, row.status, frozenset(wishes.get(row.id, ())))
            for row in rows
        ]


@dataclass(frozen=True)
class Reconciliation:
    """Acknowledged submissions against the stored responses."""

    lost: list[str]
    duplicated: list[str]
    unexpected: list[str]
    wrong_wishes: list[str]

    @property
    def is_exact(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected or self.wrong_wishes)


def reconcile(
    sent: Sequence[Submission], acknowledged: set[str], stored: Sequence[Stored]
) -> Reconciliation:
    """Each acknowledged submission once, with its wishes; nothing stored that was not sent.

    A submission that was never acknowledged may or may not be stored (the server may have
    committed before the connection dropped), but at most once.
    """
    by_comment: dict[str | None, list[Stored]] = {}
    for row in stored:
        by_comment.setdefault(row.comment, []).append(row)
    sent_by_comment = {s.comment: s for s in sent}
    return Reconciliation(
        lost=sorted(c for c in acknowledged if c not in by_comment),
        duplicated=sorted(str(c) for c, rows in by_comment.items() if len(rows) > 1),
        unexpected=sorted(str(c) for c in by_comment if c not in sent_by_comment),
        wrong_wishes=sorted(
            str(c)
            for c, rows in by_comment.items()
            if c in sent_by_comment and any(r.wishes != sent_by_comment[c].wishes for r in rows)
        ),
    )


def rollup_mismatches(app: Flask) -> list[str]:
    """Compare the rollups with a naive recount of the responses, for every status.

    A wide period reads the month rows; the days around today read the day rows.
    """
    with app.app_context():
        today = local_date(utcnow(), deployment_zone())
        periods = {
            "whole period (month rows)": Period(date(2000, 1, 1), date(2099, 12, 31)),
            "around today (day rows)": Period(today - timedelta(days=1), today + timedelta(days=1)),
        }
        mismatches = []
        for label, period in periods.items():
            for statuses in (None, *((s,) for s in RESPONSE_STATUSES)):
                flt = TallyFilter(period, statuses=statuses)
                rolled = count_answers(db.session, flt).get(None)
                counted = naive_recount(db.session, flt)
                if rolled != counted:
                    mismatches.append(f"{label}, statuses {statuses}: rollups {rolled} "
                                      f"!= recount {counted}")
        return mismatches


def summary(label: str, **figures: Any) -> str:
    """Return the one line a load test prints, so the CI log shows its figures."""
    parts = []
    for name, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        parts.append(f"{name} {shown}")
    line = f"[load] {label}: " + ", ".join(parts)
    print(line)
    return line
