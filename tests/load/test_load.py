"""Load: the app under gunicorn on PostgreSQL, as citizens at many counters hit it at once.

Each test sends real HTTP to 127.0.0.1 and then reads the database: every acknowledged
response is stored exactly once, with its wishes and its rollup counts, and no request
ends in a 5xx. The module creates its own PostgreSQL database on TEST_DATABASE_URL's
server and drops it at the end; it is skipped when TEST_DATABASE_URL is not set.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from config import Config
from survey_app import create_app
from survey_app.extensions import db
from survey_app.services.migrate import upgrade
from survey_app.services.seed import seed_sectors
from tests.factories import create_agency, create_code
from tests.load.support import (
    REQUEST_TIMEOUT,
    Gunicorn,
    LoadRun,
    ServedClock,
    Submission,
    gunicorn,
    is_acknowledged,
    parallel,
    post_form,
    postgres_server_url,
    random_answers,
    reconcile,
    redis_storage_uri,
    render_form,
    requests,
    rollup_mismatches,
    stored_at,
    submissions,
    summary,
    throwaway_database,
)

pytestmark = pytest.mark.load
SERVER_URL = postgres_server_url()  # or the whole module is skipped, saying why

CLIENTS = 20
# Enough for every worker to meet every other at the same rollup rows many times over;
# how fast they go is measured by `make bench`, not here.
MIXED_SUBMISSIONS = 800  # spread over 30 codes
CRASH_SUBMISSIONS = 300  # one worker is killed a third of the way through
# Bounds, not targets: on two idle cores the 800 take about 20 s and the 300 about 10 s;
# a busy machine gets some slack before a run counts as stuck.
MIXED_SECONDS = 120
CRASH_SECONDS = 100
SECTORS = ("DAT_DAI", "XAY_DUNG", "DAU_TU", "HO_TICH", "CHUNG_THUC", "DN")


@dataclass
class LoadWorld:
    """The module's database, an app bound to it for reading back, and its survey codes."""

    app: Flask
    database_url: str
    codes: dict[str, list[str]]  # each test's own survey codes
    redis_uri: str | None


def _create_codes(app: Flask) -> dict[str, list[str]]:
    """Give each test codes of its own, so what it finds stored there is only its own."""
    layout = {  # name: (agencies, codes per agency)
        "replay": (1, 1),
        "dossier": (1, 3),
        "mixed": (6, 5),
        "crash": (2, 5),
        "limits": (1, 1),
        "stuffing": (1, 1),
        "crowd": (1, 1),
        "junk": (1, 1),
    }
    codes: dict[str, list[str]] = {}
    with app.app_context():
        seed_sectors(db.session)
        for name, (agency_count, per_agency) in layout.items():
            for a in range(agency_count):
                agency = create_agency(f"LOAD-{name.upper()}-{a}", f"Xã thử tải {name} {a}",
                                       "commune")
                for c in range(per_agency):
                    code = create_code(agency, f"Quầy {c + 1}", SECTORS[(a + c) % len(SECTORS)])
                    codes.setdefault(name, []).append(code.code)
        db.session.commit()
    return codes


@pytest.fixture(scope="module")
def world() -> Iterator[LoadWorld]:
    with throwaway_database(SERVER_URL) as url:
        upgrade(url)
        app = create_app({"DATABASE_URL": url})
        try:
            yield LoadWorld(app, url, _create_codes(app), redis_storage_uri())
        finally:
            db.engine_for(app).dispose()


@pytest.fixture(scope="module")
def server(world: LoadWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    """Three workers with generous limits, sharing them in Redis when it is there."""
    storage = {"RATELIMIT_STORAGE_URI": world.redis_uri} if world.redis_uri else {}
    with gunicorn(tmp_path_factory.mktemp("gunicorn"), world.database_url, **storage) as served:
        yield served


def _assert_no_server_errors(server: Gunicorn, log_offset: int) -> None:
    problems = server.problems_since(log_offset)
    assert not problems, problems


def test_one_form_sent_fifty_times_at_once_is_stored_once(world, server):
    code = world.codes["replay"][0]
    log_offset = server.log_size()
    with requests.Session() as session:
        form = render_form(session, server.url, code)
    answers = random_answers(random.Random(1), "load-replay-0")

    started = time.monotonic()
    answers_seen = parallel(50, lambda _: post_form(form, answers))
    duration = time.monotonic() - started

    statuses = Counter(answer.status_code for answer in answers_seen)
    stored = stored_at(world.app, [code])
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    summary(
        "one form posted 50 times in parallel", submissions=50, clients=50, duration=duration,
        statuses=dict(statuses), stored=len(stored), lost=0 if stored else 1,
        duplicates=max(len(stored) - 1, 0), **{"5xx": server_errors},
    )
    _assert_no_server_errors(server, log_offset)
    unclean = [
        f"POST /s/{code} -> {a.status_code} {a.headers.get('Location', '')}"
        for a in answers_seen
        if not (is_acknowledged(a, code) or 400 <= a.status_code < 500)
    ]
    assert not unclean, unclean
    assert [row.comment for row in stored] == ["load-replay-0"]
    assert statuses[303] >= 1, "no post was acknowledged"


def test_one_dossier_sent_from_twenty_forms_at_once_is_counted_once(world, server):
    codes = world.codes["dossier"]
    dossier = f"HS-LOAD-{secrets.token_hex(4).upper()}"
    log_offset = server.log_size()
    rng = random.Random(2)
    sent = [
        Submission(codes[n % len(codes)], f"load-dossier-{n}",
                   random_answers(rng, f"load-dossier-{n}", dossier))
        for n in range(20)
    ]
    forms = []
    for submission in sent:
        with requests.Session() as session:
            forms.append(render_form(session, server.url, submission.code))

    started = time.monotonic()
    answers_seen = parallel(20, lambda n: post_form(forms[n], sent[n].answers))
    duration = time.monotonic() - started

    acknowledged = {
        s.comment for s, a in zip(sent, answers_seen, strict=True)
        if is_acknowledged(a, s.code)
    }
    stored = stored_at(world.app, world.codes["dossier"])
    found = reconcile(sent, acknowledged, stored)
    statuses = Counter(row.status for row in stored)
    summary(
        "one dossier code from 20 forms in parallel", submissions=20, clients=20,
        duration=duration, statuses=dict(statuses), lost=len(found.lost),
        duplicates=len(found.duplicated),
        **{"5xx": sum(a.status_code >= 500 for a in answers_seen)},
    )
    _assert_no_server_errors(server, log_offset)
    assert sorted(a.status_code for a in answers_seen) == [303] * 20
    assert found.is_exact, found
    assert len(acknowledged) == 20
    assert statuses == {"counted": 1, "duplicate": 19}


def test_hundreds_of_citizens_at_thirty_codes_are_each_stored_once(world, server):
    batch = submissions(world.codes["mixed"], MIXED_SUBMISSIONS, "mixed", seed=3)
    log_offset = server.log_size()

    run = LoadRun("mixed", CLIENTS, deadline=time.monotonic() + MIXED_SECONDS)
    run.run(batch, server.url)

    found = reconcile(batch, run.acknowledged, stored_at(world.app, world.codes["mixed"]))
    summary(
        f"{len(batch)} submissions at {len(world.codes['mixed'])} codes",
        submissions=len(batch), clients=CLIENTS,
        acknowledged=len(run.acknowledged), duration=run.duration, requests=run.requests_sent,
        requests_per_s=run.requests_per_second, submissions_per_s=len(batch) / run.duration,
        p50_s=run.latency(0.5), p95_s=run.latency(0.95), max_s=run.latency(1.0),
        unsent=run.unsent, lost=len(found.lost),
        duplicates=len(found.duplicated), **{"5xx": len(run.server_errors)},
    )
    _assert_no_server_errors(server, log_offset)
    assert run.unsent == 0, f"{run.unsent} submissions not sent within {MIXED_SECONDS} s"
    assert not run.failures, run.failures[:10]
    assert len(run.acknowledged) == len(batch)
    assert found.is_exact, found
    assert rollup_mismatches(world.app) == []


def test_a_worker_killed_under_load_loses_and_doubles_nothing(world, server):
    batch = submissions(world.codes["crash"], CRASH_SUBMISSIONS, "crash", seed=4)
    log_offset = server.log_size()
    workers_before = server.wait_for_workers()
    run = LoadRun("crash", CLIENTS, deadline=time.monotonic() + CRASH_SECONDS)
    killed: list[int] = []

    def kill_one_worker_mid_load() -> None:
        deadline = time.monotonic() + 30
        while len(run.acknowledged) < len(batch) // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        # Preferably a worker in the middle of a request, so that a client sees it die.
        for _ in range(400):
            victim = server.worker_serving_a_client()
            if victim is not None:
                break
            time.sleep(0.005)
        victim = victim or random.choice(sorted(server.worker_pids() or workers_before))
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    killer = threading.Thread(target=kill_one_worker_mid_load, name="kill-worker")
    killer.start()
    try:
        run.run(batch, server.url)
    finally:
        killer.join(timeout=35)
    assert killed, "no worker was killed"
    # The master replaces the killed worker: three workers again, none of them the dead one.
    server.wait_for_workers(exclude=set(killed))

    # The server still takes a whole submission after the load.
    after = Submission(world.codes["crash"][0], "load-crash-after",
                       random_answers(random.Random(5), "load-crash-after"))
    with requests.Session() as session:
        form = render_form(session, server.url, after.code)
    assert is_acknowledged(post_form(form, after.answers), after.code)

    sent = [*batch, after]
    acknowledged = run.acknowledged | {after.comment}
    found = reconcile(sent, acknowledged, stored_at(world.app, world.codes["crash"]))
    summary(
        "kill -9 of one worker under load", submissions=len(batch), clients=CLIENTS,
        acknowledged=len(run.acknowledged), duration=run.duration,
        requests_per_s=run.requests_per_second, max_s=run.latency(1.0), killed_worker=killed[0],
        connection_errors_retried=run.connection_errors, unsent=run.unsent,
        lost=len(found.lost), duplicates=len(found.duplicated),
        **{"5xx": len(run.server_errors)},
    )
    assert run.unsent == 0, f"{run.unsent} submissions not sent within {CRASH_SECONDS} s"
    assert not run.failures, run.failures[:10]
    assert found.is_exact, found
    assert rollup_mismatches(world.app) == []
    _assert_no_server_errors(server, log_offset)


def test_device_limit_holds_across_workers_with_redis(world, tmp_path: Path):
    if world.redis_uri is None:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379: limits shared by workers "
                    "cannot be tested")
    code = world.codes["limits"][0]
    with gunicorn(tmp_path, world.database_url, RATELIMIT_STORAGE_URI=world.redis_uri,
                  RATELIMIT_PER_DEVICE="5 per hour") as limited:
        log_offset = limited.log_size()
        rng = random.Random(6)
        sent = [Submission(code, f"load-limits-{n}", random_answers(rng, f"load-limits-{n}"))
                for n in range(8)]
        with requests.Session() as device:  # one phone: its cookies carry across forms
            forms = [render_form(device, limited.url, code) for _ in sent]
        started = time.monotonic()
        answers_seen = parallel(8, lambda n: post_form(forms[n], sent[n].answers))
        duration = time.monotonic() - started
        _assert_no_server_errors(limited, log_offset)
        workers_answering = limited.workers_answering_since(log_offset, "POST")

    statuses = Counter(a.status_code for a in answers_seen)
    acknowledged = {s.comment for s, a in zip(sent, answers_seen, strict=True)
                    if is_acknowledged(a, code)}
    refused = [a for a in answers_seen if a.status_code == 429]
    stored = stored_at(world.app, [code])
    found = reconcile(sent, acknowledged, stored)
    summary(
        "one device posting 8 forms, limit 5 per hour, 3 workers", submissions=8, clients=8,
        duration=duration, statuses=dict(statuses), workers_answering=workers_answering,
        stored=len(stored), lost=len(found.lost), duplicates=len(found.duplicated),
        **{"5xx": sum(s >= 500 for s in statuses.elements())},
    )
    assert statuses == {303: 5, 429: 3}
    assert all(int(a.headers.get("Retry-After", "0")) > 0 for a in refused), [
        dict(a.headers) for a in refused
    ]
    assert found.is_exact, found
    assert len(stored) == 5


# Stuffing and junk, with the shipped limits and flags --------------------------------------
# Hours at a counter pass in seconds: the test moves the served app's clock (ServedClock).

SHIPPED = ("MIN_SECONDS_TO_ANSWER", "DEVICE_REPEAT_WINDOW", "BURST_PER_CODE_10_MIN",
           "ADDRESS_PER_CODE_10_MIN", "ADDRESS_PER_CODE_HOUR", "RATELIMIT_PER_DEVICE",
           "RATELIMIT_PER_CODE", "RATELIMIT_PER_ADDRESS", "RATELIMIT_JUNK_PER_ADDRESS")


@pytest.fixture(scope="module")
def guarded(
    world: LoadWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gunicorn, ServedClock]]:
    """Three workers with every anti-abuse setting as shipped, and a clock the test moves."""
    directory = tmp_path_factory.mktemp("guarded")
    clock = ServedClock(directory / "clock")
    settings = {name: str(getattr(Config, name)) for name in SHIPPED}
    if world.redis_uri:
        # Counters of their own: an earlier run's junk must not fill this run's allowance.
        settings.update(RATELIMIT_STORAGE_URI=world.redis_uri,
                        RATELIMIT_KEY_PREFIX=f"survey_app-load-{uuid.uuid4().hex}")
    with gunicorn(directory, world.database_url, clock=clock, **settings) as served:
        yield served, clock


def _statuses(app: Flask, code: str) -> Counter[str]:
    return Counter(row.status for row in stored_at(app, [code]))


def test_a_script_rotating_cookie_jars_gets_at_most_five_counted(world, guarded):
    """One address, a fresh cookie jar per form, nine seconds' wait, 30 posts at once."""
    server, clock = guarded
    code = world.codes["stuffing"][0]
    log_offset = server.log_size()
    rng = random.Random(8)
    sent = [random_answers(rng, f"load-stuffing-{n}") for n in range(30)]
    clock.set(0)
    forms = []
    for _ in sent:
        with requests.Session() as jar:
            forms.append(render_form(jar, server.url, code))
    clock.set(9 + 30)  # nine seconds' wait, and the minute the posts take
    answers_seen = parallel(30, lambda n: post_form(forms[n], sent[n]))

    statuses = _statuses(world.app, code)
    summary("stuffing script, fresh cookie jar per form, one address",
            submitted=30, acknowledged=sum(is_acknowledged(a, code) for a in answers_seen),
            stored=sum(statuses.values()), counted=statuses["counted"])
    _assert_no_server_errors(server, log_offset)
    assert all(is_acknowledged(a, code) for a in answers_seen)  # the same thanks for all
    assert statuses == {"counted": 5, "flagged": 25}


def test_forty_honest_citizens_behind_one_address_are_all_counted(world, guarded):
    """One every four to five minutes over three hours, each answering in one to four."""
    server, clock = guarded
    code = world.codes["crowd"][0]
    log_offset = server.log_size()
    rng = random.Random(9)
    served_at, acknowledged = 0.0, 0
    for n in range(40):
        served_at += rng.uniform(240, 300)
        clock.set(served_at)
        with requests.Session() as phone:
            form = render_form(phone, server.url, code)
        clock.set(served_at + rng.uniform(60, 240))
        acknowledged += is_acknowledged(
            post_form(form, random_answers(rng, f"load-crowd-{n}")), code
        )

    statuses = _statuses(world.app, code)
    summary("honest crowd, one address, one every 4-5 minutes for 3 hours",
            submitted=40, acknowledged=acknowledged, stored=sum(statuses.values()),
            counted=statuses["counted"], simulated_hours=served_at / 3600)
    _assert_no_server_errors(server, log_offset)
    assert acknowledged == 40
    assert statuses == {"counted": 40}


def test_a_thousand_junk_posts_leave_the_code_open(world, guarded):
    """620 of these closed the code for an hour; now junk uses only its address's allowance.

    Each junk post comes with a device cookie of its own (reading the form gives one), as
    the posts that closed the code did: a device's allowance never stopped them.
    """
    server, clock = guarded
    code = world.codes["junk"][0]
    log_offset = server.log_size()
    clock.set(0)
    url = f"{server.url}/s/{code}"

    def junk(_: int) -> int:
        """A fresh cookie jar, the form read for its new device cookie, then `q1=1` alone."""
        with requests.Session() as jar:
            render_form(jar, server.url, code)
            status: int = jar.post(url, data={"q1": "1"}, timeout=REQUEST_TIMEOUT,
                                   allow_redirects=False).status_code
        return status

    with ThreadPoolExecutor(8) as pool:
        junk_statuses = Counter(pool.map(junk, range(1000)))
    with requests.Session() as phone:
        form = render_form(phone, server.url, code)
    clock.set(120)  # two minutes to answer
    answer = post_form(form, random_answers(random.Random(10), "load-junk-citizen"))

    statuses = _statuses(world.app, code)
    summary("1000 junk posts, then a citizen at the same address",
            junk_statuses=dict(junk_statuses), citizen=answer.status_code,
            stored=sum(statuses.values()), counted=statuses["counted"])
    _assert_no_server_errors(server, log_offset)
    assert sum(junk_statuses.values()) == 1000
    assert set(junk_statuses) <= {400, 429} and junk_statuses[429] > 0
    assert is_acknowledged(answer, code)
    assert statuses == {"counted": 1}
