"""The production server: gunicorn with gunicorn.conf.py serves the app, then stops cleanly."""

from __future__ import annotations

import importlib.util
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from survey_app.services.migrate import upgrade
from tests.factories import PROJECT_ROOT, free_port

ROOT = PROJECT_ROOT
CONFIG_FILE = ROOT / "gunicorn.conf.py"
START_TIMEOUT = 15.0  # about two seconds on an idle machine; generous for a busy CI
STOP_TIMEOUT = 10.0

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gunicorn") is None,
    reason="gunicorn is not installed (pip install -e .): the production server is not tested",
)


def settings(monkeypatch: pytest.MonkeyPatch, cores: int = 2, **env: str) -> dict[str, Any]:
    """Return gunicorn.conf.py's settings, as gunicorn itself validates them."""
    from gunicorn.config import Config

    for name in [n for n in os.environ if n.startswith("GUNICORN_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    namespace = runpy.run_path(str(CONFIG_FILE))
    config = Config()
    known = {k: v for k, v in namespace.items() if k in config.settings}
    for name, value in known.items():
        config.set(name, value)
    return {name: config.settings[name].get() for name in known}


def test_defaults_bind_to_the_loopback_with_two_per_core_plus_one_sync_workers(monkeypatch):
    config = settings(monkeypatch, cores=2)
    assert config["bind"] == ["127.0.0.1:8000"]
    assert config["workers"] == 5
    assert config["worker_class"] == "sync" and config["threads"] == 1
    assert config["timeout"] > 0 and config["graceful_timeout"] > 0
    assert config["max_requests"] > 0 and 0 < config["max_requests_jitter"] < config["max_requests"]
    assert settings(monkeypatch, cores=1)["workers"] == 3
    assert settings(monkeypatch, cores=64)["workers"] == 12  # capped: database connections


def test_the_environment_chooses_address_workers_and_threads(monkeypatch):
    config = settings(monkeypatch, GUNICORN_BIND="unix:/tmp/survey.sock", GUNICORN_WORKERS="7",
                      GUNICORN_THREADS="4", GUNICORN_TIMEOUT="90")
    assert config["bind"] == ["unix:/tmp/survey.sock"]
    assert (config["workers"], config["threads"], config["timeout"]) == (7, 4, 90)


def test_gunicorn_trusts_no_forwarding_header_itself(monkeypatch):
    # Forwarded headers are ProxyFix's business alone (TRUSTED_PROXIES).
    config = settings(monkeypatch)
    assert config["forwarded_allow_ips"] == []
    assert config["secure_scheme_headers"] == {}
    assert config["forwarder_headers"] == []


def test_the_access_log_keeps_no_address_query_referrer_or_user_agent(monkeypatch):
    log_format = settings(monkeypatch)["access_log_format"]
    for field in ("%(h)s", "%(r)s", "%(q)s", "%(f)s", "%(a)s"):
        assert field not in log_format
    assert "}i)s" not in log_format  # no request header at all (X-Forwarded-For, X-Real-IP)
    for field in ("%(t)s", "%(m)s", "%(U)s", "%(s)s"):
        assert field in log_format


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def wait_until_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited while starting"
        try:
            if fetch(url)[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(f"/healthz did not answer 200 within {START_TIMEOUT} s")


def test_gunicorn_serves_the_app_with_two_workers_and_stops_on_sigterm(tmp_path):
    database = f"sqlite:///{tmp_path / 'survey.sqlite3'}"
    upgrade(database)
    port = free_port()
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": database,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
    }
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    with access_log.open("wb") as out, error_log.open("wb") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=err,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_healthy(f"{base}/healthz", server)
            status, home = fetch(f"{base}/")
            assert status == 200
            assert 'name="code"' in home  # the box where a citizen types the code
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                raw.sendall(b"NOT AN HTTP REQUEST LINE\r\n\r\n")
                assert raw.recv(100).startswith(b"HTTP/1.1 400")

            stopping = time.monotonic()
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=STOP_TIMEOUT) == 0
            assert time.monotonic() - stopping < STOP_TIMEOUT
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()

    errors = error_log.read_text()
    assert errors.count("Booting worker with pid") == 2, errors
    assert "Shutting down: Master" in errors, errors
    requests = [line for line in access_log.read_text().splitlines() if '"GET ' in line]
    assert any('"GET /healthz" 200' in line for line in requests), requests
    assert any('"GET /" 200' in line for line in requests), requests
    # The access log keeps no client address.
    assert not any("127.0.0.1" in line for line in requests), requests
    # Nor does the error log, even for a malformed request.
    (refused,) = [line for line in errors.splitlines() if "Invalid request" in line]
    assert "ip=-" in refused and "127.0.0.1" not in refused, refused


def error_lines_of(monkeypatch: pytest.MonkeyPatch, *messages: str) -> list[str]:
    """Return what gunicorn's configured logger writes to the error log for these warnings."""
    import io

    from gunicorn.config import Config

    namespace = runpy.run_path(str(CONFIG_FILE))
    config = Config()
    config.set("logger_class", namespace["logger_class"])
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # errorlog "-" writes to standard error
    logger = config.logger_class(config)
    try:
        for message in messages:
            logger.warning(message)
    finally:
        for handler in logger.error_log.handlers:
            handler.flush()
    return stream.getvalue().splitlines()


def test_the_error_log_hides_the_address_of_a_malformed_request(monkeypatch):
    lines = error_lines_of(
        monkeypatch,
        "Invalid request from ip=203.0.113.7: Invalid HTTP request line: ''",
        "Invalid request from ip=2001:db8::17: Invalid HTTP Version 'HTTP/9'",
        "Invalid request from ip=::ffff:198.51.100.2: Invalid method",
        "Invalid PROXY line 'PROXY TCP4 198.51.100.2 10.0.0.1 5123 80'",
    )
    assert len(lines) == 4, lines
    log = "\n".join(lines)
    for address in ("203.0.113.7", "2001:db8::17", "198.51.100.2", "10.0.0.1"):
        assert address not in log, log
    assert "Invalid request from ip=-: Invalid HTTP request line" in lines[0]
    assert "ip=-: Invalid HTTP Version 'HTTP/9'" in lines[1]
    assert "'PROXY TCP4 - - 5123 80'" in lines[3]


def test_the_error_log_keeps_what_is_not_an_address(monkeypatch):
    kept = ["Booting worker with pid: 4242", "Listening at: http://127.0.0.1:8000 (1)",
            "Worker exiting (pid: 12:34:56)", "gunicorn 27.0.1", "Error handling request /s/ABCD"]
    lines = error_lines_of(monkeypatch, *kept)
    assert len(lines) == len(kept)
    assert all(line.endswith(message) for line, message in zip(lines, kept, strict=True)), lines
