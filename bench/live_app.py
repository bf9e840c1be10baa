"""The app as the benchmarks see it: a throw-away SQLite database, served by gunicorn.

The browser and QR benchmarks measure what a phone or a counter's PC receives from a
production-like server, so the app runs under the project's own gunicorn.conf.py (sync
workers, no reloader, no debugger) rather than Flask's development server. Everything lives
in a temporary directory and on a free loopback port; the context managers stop gunicorn and
remove the directory on the way out, whether the benchmark succeeded or not.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONFIG = PROJECT_ROOT / "gunicorn.conf.py"
# Long enough for a slow machine to import the app in every worker.
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
SECRET_KEY = "benchmark-only-" + "k" * 40
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium tries to reach Google's hosts at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Database:
    """A migrated SQLite file in a temporary directory."""

    directory: Path
    url: str


@contextmanager
def throwaway_database(prepare: Callable[[Flask], None]) -> Iterator[Database]:
    """Create, migrate and fill a SQLite database in a temporary directory; remove it after.

    `prepare` receives an app bound to the database (call it inside `app.app_context()`).
    """
    with tempfile.TemporaryDirectory(prefix="survey-bench-") as name:
        directory = Path(name)
        url = f"sqlite:///{directory / 'survey.sqlite3'}"
        app = make_app(url)
        try:
            from survey_app.services.migrate import upgrade

            upgrade(url)
            prepare(app)
        finally:
            from survey_app.extensions import db

            db.engine_for(app).dispose()
        yield Database(directory, url)


def make_app(url: str, public_base_url: str | None = None) -> Flask:
    """Return an app on `url` with development settings, whatever this shell's APP_ENV is.

    Dispose of its engine when done: `db.engine_for(app).dispose()`.
    """
    from survey_app import create_app

    settings = {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}
    if public_base_url is not None:
        settings["PUBLIC_BASE_URL"] = public_base_url
    saved = os.environ.get("APP_ENV")
    os.environ["APP_ENV"] = "development"
    try:
        return create_app(settings)
    finally:
        if saved is None:
            os.environ.pop("APP_ENV", None)
        else:
            os.environ["APP_ENV"] = saved


def server_environment(database: Database, port: int, workers: int) -> dict[str, str]:
    """Return the served app's environment.

    APP_ENV=development so that every setting is read from the environment (as in
    production) without requiring HTTPS cookies on a plain loopback address. The limits on
    submissions are raised and the too-fast flag is off: a benchmark sends forms at machine
    speed, and neither limits nor flags are what it measures.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_"))}
    env.update(
        APP_ENV="development",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database.url,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        GUNICORN_THREADS="1",
        # No worker is recycled in the middle of a measurement.
        GUNICORN_MAX_REQUESTS="0",
        GUNICORN_LOG_LEVEL="warning",
        GUNICORN_ACCESS_LOG=str(database.directory / "access.log"),
        MIN_SECONDS_TO_ANSWER="0",
        ADDRESS_PER_CODE_10_MIN="0",  # every submission comes from this one address
        ADDRESS_PER_CODE_HOUR="0",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_PER_DEVICE="100000 per hour",
        RATELIMIT_PER_CODE="100000 per hour",
        RATELIMIT_PER_ADDRESS="100000 per hour",
        TRUSTED_PROXIES="0",
    )
    return env


@dataclass
class Gunicorn:
    """A gunicorn master serving the app on a loopback port."""

    database: Database
    workers: int
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.database.directory / "gunicorn.log"

    def start(self) -> None:
        """Start gunicorn and return once every worker can answer."""
        command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), "wsgi:app"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=server_environment(self.database, self.port, self.workers),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_serving()

    def stop(self) -> None:
        """Stop gunicorn gracefully, or kill it when it does not stop in time."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop and start again: new workers, with every in-memory cache empty."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait_until_serving(self) -> None:
        """Wait until /healthz has answered 200 once per worker.

        A worker answers only once it has imported the app. The workers import it at the
        same time, so by the time as many answers have come back the others are ready too
        (or within a moment of it); the benchmarks warm up with a few requests anyway.
        """
        deadline = time.monotonic() + STARTUP_TIMEOUT
        answered = 0
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; its log ends with:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        answered += 1
                        if answered >= self.workers:
                            return
                        continue
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"gunicorn did not answer within {STARTUP_TIMEOUT:.0f} s; its log ends with:\n"
            f"{self.log_tail()}"
        )


@contextmanager
def gunicorn(database: Database, workers: int = 2) -> Iterator[Gunicorn]:
    """Serve the app on `database` with gunicorn on a free loopback port; stop it after."""
    server = Gunicorn(database, workers, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()


def median(values: list[float]) -> float:
    """Return the median of a non-empty list (the mean of the middle two when even)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def stop_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt for a benchmark run alone from the command line.

    Python's default SIGTERM ends the process at once, skipping every `finally`: gunicorn
    would outlive us and the temporary directory would stay. As an exception, the context
    managers here stop the one and remove the other on the way out.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def stderr_log() -> Callable[[str], None]:
    """Return a log function for running a benchmark alone: stderr, seconds since start."""
    started = time.monotonic()

    def log(line: str) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {line}", file=sys.stderr, flush=True)

    return log


def run_alone(
    run: Callable[..., dict[str, Any]], prog: str, description: str, quick_help: str
) -> None:
    """Run one benchmark from the command line and print its results as JSON."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args()
    stop_cleanly_on_sigterm()
    try:
        result = run(quick=args.quick, log=stderr_log())
    except KeyboardInterrupt:
        sys.exit(130)
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    print()
