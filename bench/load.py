"""Parts 1, 2 and 5 of the benchmark: the survey form and its submission under load.

Two servers run side by side with the same gunicorn settings (gunicorn.conf.py, 2 sync
workers, no access log, no worker recycling) on the same throw-away PostgreSQL database:
survey_app itself (`wsgi:app`) and the bare limit of the stack (`bench.bare_app:app`),
which answers the same bytes and inserts one row of the same width. The same load, from
the same tools, goes to each, one phase to one server and then at once the same phase to
the other:

- **Survey page**: `wrk` (one thread, a few connections, closed loop) asks for
  `GET /s/<code>` as new phones do: no cookie, so every page comes with a new form
  cookie, CSRF token, submit token and device cookie.
- **Submission**: forms are first rendered by survey_app over HTTP (each with its own
  cookies and tokens, one per submission), then `wrk` posts them, each once, valid
  answers, as fast as the server takes them. The bare app gets the same bodies.
- **At 100 submissions per second**: an open-loop sender posts fresh forms at a fixed
  rate, so latency is measured at a rate an office network could send, not only at
  saturation.
- **Memory**: the peak resident memory (VmHWM) of each worker at the end of each server's
  run, and the master's.

Every phase is bounded in time; all traffic stays on 127.0.0.1.

Result shape: {"server": {...}, "page": {"app": Phase, "bare": Phase, "ratio": float},
"submit": {"app": Phase, "bare": Phase, "ratio": float}, "submit_at_rate": {...},
"memory": {"app": {...}, "bare": {...}}, "checks": {...}}, where a Phase is
{"requests", "seconds", "rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "non_2xx_3xx"}.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.live_app import GUNICORN_CONFIG, PROJECT_ROOT, SECRET_KEY, free_port

WORKERS = 2
# Each closed-loop phase is run as this many slices, survey_app and the bare app in turn.
SLICES = 5
STARTUP_TIMEOUT = 40.0

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
WRK_POST_SCRIPT = Path(__file__).with_name("wrk_post.lua")

# The answers every benchmark submission sends: a complete, valid form.
ANSWERS: list[tuple[str, str]] = [
    ("q1", "5"), ("q2", "4"), ("q3", "5"), ("q4", "na"), ("q5", "4"), ("q6", "5"),
    ("q7", "no"), ("q8", "speed"), ("q8", "online"),
    ("comment", "Cán bộ hướng dẫn tận tình, thủ tục nhanh."), ("dossier", ""),
]


@dataclass(frozen=True)
class Settings:
    """How long and how hard each phase runs."""

    seconds: int
    connections: int
    rate: int  # submissions per second of the open-loop phase
    rate_seconds: int

    @classmethod
    def for_run(cls, quick: bool) -> Settings:
        if quick:
            return cls(seconds=5, connections=4, rate=100, rate_seconds=5)
        return cls(seconds=10, connections=4, rate=100, rate_seconds=10)


# PostgreSQL ------------------------------------------------------------------------------


def postgres_server_url() -> str:
    """Return the URL of the `postgres` database the benchmark may create databases on."""
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(
        hide_password=False
    )


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Create a database, migrate and seed it with the demo, yield its URL, drop it after."""
    server = postgres_server_url()
    name = f"survey_bench_load_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        _prepare(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prepare(url: str) -> None:
    """Migrate, seed, load the demo, and make the bare app's table of the same width."""
    env = _app_environment(url, port=0)
    for command in (["db", "upgrade"], ["seed"], ["demo"]):
        subprocess.run(
            [sys.executable, "-m", "flask", *command],
            cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
        )
    engine = create_engine(url)
    with engine.begin() as connection:
        # The responses table's columns, defaults and checks, without its indexes.
        connection.execute(text(
            "CREATE TABLE bench_bare_rows "
            "(LIKE responses INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        ))
    engine.dispose()


def demo_codes(url: str) -> list[str]:
    """The active counter codes (the hidden receipt and kiosk codes have no form page)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        codes = list(connection.execute(text(
            "SELECT code FROM survey_codes WHERE revoked_at IS NULL AND kind = 'counter' "
            "ORDER BY id"
        )).scalars())
    engine.dispose()
    return codes


def count_rows(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        counted = connection.execute(select(func.count()).select_from(text(table))).scalar_one()
    engine.dispose()
    return int(counted)


def count_floor_rows(url: str) -> int:
    """Count the responses the floor (bench/bare_app.py, BARE_STATEMENTS) stored."""
    engine = create_engine(url)
    with engine.connect() as connection:
        counted = connection.execute(
            text("SELECT count(*) FROM responses WHERE submit_nonce LIKE 'floor-%'")
        ).scalar_one()
    engine.dispose()
    return int(counted)


# gunicorn --------------------------------------------------------------------------------


def _app_environment(url: str, port: int, **extra: str) -> dict[str, str]:
    """The served app's environment: the deployment's settings, with limits out of reach.

    Rate limits are raised and the too-fast and burst flags are off: the benchmark sends
    forms at machine speed from one address, and neither limits nor flags are what it
    measures (they still run: every request is checked against them).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_"))}
    env.update(
        FLASK_APP="survey_app",
        APP_ENV="development",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False
        ),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(WORKERS),
        GUNICORN_THREADS="1",
        GUNICORN_MAX_REQUESTS="0",  # no worker is recycled in the middle of a phase
        GUNICORN_LOG_LEVEL="warning",
        GUNICORN_ACCESS_LOG="/dev/null",  # the same for both servers; nginx logs in front
        MIN_SECONDS_TO_ANSWER="0",
        ADDRESS_PER_CODE_10_MIN="0",  # every submission comes from this one address
        ADDRESS_PER_CODE_HOUR="0",
        BURST_PER_CODE_10_MIN="0",
        RATELIMIT_PER_DEVICE="1000000 per hour",
        RATELIMIT_PER_CODE="1000000 per hour",
        RATELIMIT_PER_ADDRESS="1000000 per hour",
        TRUSTED_PROXIES="0",
    )
    env.update(extra)
    return env


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    workers: int

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return sorted(int(pid) for pid in children.read_text().split())
        except OSError:
            return []

    def peak_memory(self) -> dict[str, Any]:
        """Return the peak resident memory (VmHWM) of the master and of each worker, in MB."""
        def peak(pid: int) -> float | None:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                return None
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            return round(int(found.group(1)) / 1024, 1) if found else None

        workers = [peak(pid) for pid in self.worker_pids()]
        return {"master_mb": peak(self.process.pid),
                "workers_mb": [w for w in workers if w is not None]}

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def gunicorn(name: str, module: str, env: dict[str, str], directory: Path) -> Iterator[Server]:
    """Serve `module` with the project's gunicorn.conf.py; stop it afterwards."""
    log_path = directory / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), module],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )
    workers = int(env.get("GUNICORN_WORKERS") or _default_workers())
    server = Server(name, f"http://{env['GUNICORN_BIND']}", process, log_path, workers)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _default_workers() -> int:
    """Return how many workers gunicorn.conf.py asks for when nothing is set."""
    import runpy

    saved = os.environ.pop("GUNICORN_WORKERS", None)
    try:
        return int(runpy.run_path(str(GUNICORN_CONFIG))["workers"])
    finally:
        if saved is not None:
            os.environ["GUNICORN_WORKERS"] = saved


def _wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited; log:\n{server.log_tail()}")
        if len(server.worker_pids()) == server.workers:
            try:
                with urllib.request.urlopen(server.url + "/s/none-such", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer (a 404 from survey_app) means a worker serves
            except OSError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not start in time; log:\n{server.log_tail()}")


# Load ------------------------------------------------------------------------------------


def wrk(url: str, seconds: int, connections: int, script: Path, env: dict[str, str] | None = None
        ) -> dict[str, Any]:
    """Run wrk (one thread, closed loop) and return its summary as a Phase."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(script), url]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60,
        env={**os.environ, **(env or {})},
    )
    found = re.search(r"^BENCH (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(found.group(1))
    seconds_taken = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds_taken, 2),
        "rps": round(raw["requests"] / seconds_taken, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": raw["errors"],
        "non_2xx_3xx": raw["status_errors"],
    }


def in_turn(runs: list[Callable[[int], dict[str, Any]]], slices: int) -> list[dict[str, Any]]:
    """Run a phase as short slices, the servers taking turns; return each one's Phase.

    Slice n goes to each server at once after the other (the order reverses every slice),
    so a neighbour's burst of work on a shared machine falls on every side of a ratio
    alike. Requests and seconds add up; the percentiles are the median of the slices'.
    """
    parts: list[list[dict[str, Any]]] = [[] for _ in runs]
    for n in range(slices):
        order = list(range(len(runs)))
        for index in order if n % 2 == 0 else reversed(order):
            parts[index].append(runs[index](n))
    return [_merged(server_parts) for server_parts in parts]


def _merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        values = sorted(part[key] for part in parts)
        middle = len(values) // 2
        return float(values[middle] if len(values) % 2 else
                     round((values[middle - 1] + values[middle]) / 2, 2))

    requests = sum(part["requests"] for part in parts)
    seconds = sum(part["seconds"] for part in parts)
    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "rps": round(requests / seconds, 1),
        "p50_ms": median("p50_ms"),
        "p90_ms": median("p90_ms"),
        "p99_ms": median("p99_ms"),
        "max_ms": max(part["max_ms"] for part in parts),
        "errors": sum(part["errors"] for part in parts),
        "non_2xx_3xx": sum(part["non_2xx_3xx"] for part in parts),
        "slices": len(parts),
        "slice_rps": [part["rps"] for part in parts],
    }


@dataclass(frozen=True)
class RenderedForm:
    code: str
    cookie: str
    body: str


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', page
    )
    if not found:
        raise RuntimeError(f"no {name} in the rendered form")
    return unescape(found.group(1))


def render_forms(base_url: str, codes: list[str], count: int, threads: int = 4
                 ) -> list[RenderedForm]:
    """GET `count` fresh forms over HTTP, each as a new phone, spread over the codes."""
    host, port = base_url.removeprefix("http://").split(":")

    def one(n: int) -> RenderedForm:
        code = codes[n % len(codes)]
        connection = HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request("GET", f"/s/{code}")
            answer = connection.getresponse()
            page = answer.read().decode()
            if answer.status != 200:
                raise RuntimeError(f"GET /s/{code} answered {answer.status}")
            cookies = [
                value.split(";", 1)[0] for header, value in answer.getheaders()
                if header.lower() == "set-cookie"
            ]
        finally:
            connection.close()
        body = urlencode([
            ("csrf_token", _hidden(page, "csrf_token")),
            ("submit_token", _hidden(page, "submit_token")),
            *ANSWERS,
        ])
        return RenderedForm(code, "; ".join(cookies), body)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def write_forms(forms: list[RenderedForm], path: Path) -> None:
    """Write one form a line for wrk_post.lua: path, tab, cookie header, tab, body."""
    with open(path, "w", encoding="utf-8") as out:
        for form in forms:
            out.write(f"/s/{form.code}\t{form.cookie}\t{form.body}\n")


def post_at_rate(base_url: str, forms: list[RenderedForm], rate: int) -> dict[str, Any]:
    """Post each form once, one every 1/rate seconds (open loop); return latencies."""
    host, port = base_url.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def one(n: int) -> None:
        nonlocal errors
        form = forms[n]
        due = start + n / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        # Measured from when the request was due: a late sender counts against the server.
        connection = HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request("POST", f"/s/{form.code}", body=form.body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": form.cookie,
            })
            answer = connection.getresponse()
            answer.read()
            took = time.perf_counter() - due
            with lock:
                latencies.append(took)
                statuses[answer.status] = statuses.get(answer.status, 0) + 1
        except OSError:
            with lock:
                errors += 1
        finally:
            connection.close()

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(len(forms))))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 2)

    return {
        "rate": rate, "requests": len(forms), "seconds": round(elapsed, 2),
        "achieved_rps": round(len(forms) / elapsed, 1),
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "max_ms": pct(100),
        "statuses": {str(k): v for k, v in sorted(statuses.items())}, "errors": errors,
    }


def _warm(base_url: str, path: str, count: int = 40) -> None:
    for _ in range(count):
        try:
            with urllib.request.urlopen(base_url + path, timeout=10) as answer:
                answer.read()
        except OSError:
            pass


def _ratio(app: dict[str, Any], bare: dict[str, Any]) -> float:
    return round(app["rps"] / bare["rps"], 3) if bare["rps"] else 0.0


# The benchmark ---------------------------------------------------------------------------


def run(*, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian package wrk)")
    settings = Settings.for_run(quick)
    results: dict[str, Any] = {
        "server": {
            "workers": WORKERS, "worker_class": "sync", "access_log": "off",
            "database": "PostgreSQL", "load_tool": "wrk 4 (1 thread), closed loop",
            "connections": settings.connections, "phase_seconds": settings.seconds,
            "slices": SLICES,
        }
    }
    with tempfile.TemporaryDirectory(prefix="survey-bench-load-") as name, \
            throwaway_postgres() as url:
        directory = Path(name)
        codes = demo_codes(url)
        # Enough forms for the closed-loop phase at any rate this machine reaches, plus
        # the open-loop phase. (At 250, then 1,000 a second the bare app ran out of forms:
        # its rate was the supply's, not its own.)
        closed_loop_forms = 2500 * settings.seconds
        at_rate_forms = settings.rate * settings.rate_seconds

        app_env = _app_environment(url, free_port())
        log("load: survey_app and the bare Flask app under gunicorn")
        # Both servers run at once and each phase goes to one, then at once to the other:
        # on a shared machine the neighbours' load drifts by the minute, and a ratio is
        # only fair when both sides of it met the same neighbours.
        with gunicorn("app", "wsgi:app", app_env, directory) as app:
            _warm(app.url, f"/s/{codes[0]}")
            page_bytes = urllib.request.urlopen(app.url + f"/s/{codes[0]}").read()
            (directory / "page.html").write_bytes(page_bytes)
            bare_env = _app_environment(
                url, free_port(), BARE_PAGE_FILE=str(directory / "page.html")
            )
            floor_env = {**bare_env, "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
                         "BARE_STATEMENTS": "1"}
            with gunicorn("bare", "bench.bare_app:app", bare_env, directory) as bare, \
                    gunicorn("floor", "bench.bare_app:app", floor_env, directory) as floor:
                _warm(bare.url, f"/s/{codes[0]}")
                _warm(floor.url, f"/s/{codes[0]}")
                slice_seconds = max(1, settings.seconds // SLICES)
                log(f"load: GET /s/<code>, survey_app and the bare app in turn, {SLICES} x "
                    f"{slice_seconds} s each")
                app_page, bare_page = in_turn([
                    lambda n: wrk(f"{app.url}/s/{codes[0]}", slice_seconds,
                                  settings.connections, WRK_SCRIPT),
                    lambda n: wrk(f"{bare.url}/s/{codes[0]}", slice_seconds,
                                  settings.connections, WRK_SCRIPT),
                ], SLICES)
                log(f"  survey_app {app_page['rps']} req/s, p99 {app_page['p99_ms']} ms; "
                    f"bare {bare_page['rps']} req/s, p99 {bare_page['p99_ms']} ms")
                log("load: rendering fresh forms to submit")
                forms = render_forms(app.url, codes, closed_loop_forms + at_rate_forms)
                per_slice = closed_loop_forms // SLICES
                forms_files = []
                for n in range(SLICES):
                    forms_files.append(directory / f"forms-{n}.tsv")
                    write_forms(forms[n * per_slice:(n + 1) * per_slice], forms_files[n])
                responses_before = count_rows(url, "responses")
                bare_before = count_rows(url, "bench_bare_rows")
                log(f"load: POST /s/<code>, survey_app, the bare app and the floor in turn, "
                    f"{SLICES} x {slice_seconds} s each")

                def posting(server: Server) -> Callable[[int], dict[str, Any]]:
                    return lambda n: wrk(server.url, slice_seconds, settings.connections,
                                         WRK_POST_SCRIPT, {"BENCH_FORMS": str(forms_files[n])})

                app_submit, bare_submit, floor_submit = in_turn(
                    [posting(app), posting(bare), posting(floor)], SLICES
                )
                log(f"  survey_app {app_submit['rps']} req/s, p99 {app_submit['p99_ms']} ms; "
                    f"bare {bare_submit['rps']} req/s, p99 {bare_submit['p99_ms']} ms; "
                    f"floor {floor_submit['rps']} req/s, p99 {floor_submit['p99_ms']} ms")
                floor_stored = count_floor_rows(url)
                stored = count_rows(url, "responses") - responses_before - floor_stored
                bare_stored = count_rows(url, "bench_bare_rows") - bare_before
                bare_memory = bare.peak_memory()
            log(f"load: POST at {settings.rate}/s for {settings.rate_seconds} s")
            at_rate = post_at_rate(app.url, forms[closed_loop_forms:], settings.rate)
            log(f"  p99 {at_rate['p99_ms']} ms")
            app_memory = app.peak_memory()
        # The same rate against the deployment's own default: gunicorn.conf.py's
        # 2 x cores + 1 sync workers, so that one worker's wait on the database (the
        # commit's flush to disk) leaves the cores to the others.
        default_env = _app_environment(url, free_port())
        default_env.pop("GUNICORN_WORKERS")
        log("load: survey_app with gunicorn.conf.py's default number of workers")
        with gunicorn("app-default", "wsgi:app", default_env, directory) as app_default:
            _warm(app_default.url, f"/s/{codes[0]}")
            default_forms = render_forms(app_default.url, codes, at_rate_forms)
            log(f"load: POST at {settings.rate}/s for {settings.rate_seconds} s, "
                f"{len(app_default.worker_pids())} workers")
            at_rate_default = post_at_rate(app_default.url, default_forms, settings.rate)
            at_rate_default["workers"] = len(app_default.worker_pids())
            log(f"  p99 {at_rate_default['p99_ms']} ms")
        log("load: profile of the form and of a submission (in process)")
        from bench.profile import profile

        request_profile = profile(url, codes[-1])

    results["page"] = {"app": app_page, "bare": bare_page, "ratio": _ratio(app_page, bare_page),
                       "bytes": len(page_bytes)}
    results["submit"] = {"app": app_submit, "bare": bare_submit,
                         "ratio": _ratio(app_submit, bare_submit),
                         "floor": floor_submit, "floor_ratio": _ratio(floor_submit, bare_submit),
                         "app_to_floor": _ratio(app_submit, floor_submit)}
    results["submit_at_rate"] = at_rate
    results["submit_at_rate_default_workers"] = at_rate_default
    results["memory"] = {"app": app_memory, "bare": bare_memory}
    results["profile"] = request_profile
    results["checks"] = {
        "app_posts_answered": app_submit["requests"],
        "app_responses_stored": stored,
        "forms_available": closed_loop_forms,
        "bare_rows_stored": bare_stored,
        "floor_rows_stored": floor_stored,
        # A phase that used up every form measured the supply, not the server.
        "app_ran_out_of_forms": any(
            rps * slice_seconds >= closed_loop_forms // SLICES for rps in app_submit["slice_rps"]
        ),
        "floor_ran_out_of_forms": any(
            rps * slice_seconds >= closed_loop_forms // SLICES for rps in floor_submit["slice_rps"]
        ),
        "bare_ran_out_of_forms": any(
            rps * slice_seconds >= closed_loop_forms // SLICES for rps in bare_submit["slice_rps"]
        ),
    }
    return results


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    print(json.dumps(run(quick=quick, log=lambda line: print(line, file=sys.stderr)), indent=2))


if __name__ == "__main__":
    main()
