"""Gunicorn settings for serving survey_app: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment, so one file serves every deployment.
Gunicorn sits behind nginx (see docs/deployment.md); it is never exposed to the internet
directly.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from typing import Any

from gunicorn.glogging import Logger


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _cores() -> int:
    # The cores this process may run on (a container may get fewer than the machine has).
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


# Where nginx reaches the app: an address on the loopback interface by default, or a unix
# socket ("unix:/run/survey_app/gunicorn.sock").
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers, one request at a time each. Requests here are short and light on the CPU
# (a form of a few kilobytes, a tally read from the rollup tables); their time is spent
# waiting on the database, and a sync worker is the simplest thing that does that well: no
# shared state between requests, one database connection per worker, a stuck request kills
# only its own worker. The slow part of a phone on 3G (sending the body, reading the page)
# is absorbed by nginx, which buffers both ways, so a worker is never held by a slow client.
# 2 x cores + 1 keeps the CPUs busy while some workers wait on the database; the cap keeps
# the number of database connections well under PostgreSQL's default max_connections (100)
# when several app servers share one database. GUNICORN_WORKERS sets an exact number.
workers = _env_int("GUNICORN_WORKERS", min(2 * _cores() + 1, 12))
worker_class = "sync"
# More than one thread turns the workers into gunicorn's threaded workers (gthread): useful
# when many requests wait on a slow database at once; the app keeps no per-thread state.
threads = _env_int("GUNICORN_THREADS", 1)

# A request silent for this long is killed and its worker replaced. The longest request is
# a raw export of a whole year, streamed in batches; everything else takes milliseconds.
timeout = _env_int("GUNICORN_TIMEOUT", 60)
# On SIGTERM (a deploy, a restart), requests in flight get this long to finish.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Only threaded workers keep connections open; nginx reuses them for its next requests.
keepalive = 5

# Replace each worker after some thousands of requests, at staggered times, so that slow
# growth of memory never accumulates and workers never all restart at once.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 5000)
# A wide jitter, so the workers do not all restart in the same second.
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 2500)

# Each worker builds its own app and its own database pool after the fork: nothing opened
# in the master is shared between processes.
preload_app = False

proc_name = "survey_app"

# Runs of characters an IP address is written with; each is checked before it is hidden.
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*")


def _hide_address(match: re.Match[str]) -> str:
    text = match.group(0)
    for candidate, rest in ((text, ""), (text.rstrip(":."), text[len(text.rstrip(":.")) :])):
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            continue
        return "-" + rest
    return text


class _HideAddresses(logging.Filter):
    """Replace every IP address in a log line by "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = _ADDRESS_LIKE.sub(_hide_address, message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


class AddresslessLogger(Logger):
    """Gunicorn's logger, writing no client address into the error log.

    Gunicorn itself writes the client's address when it refuses a malformed request
    ("Invalid request from ip=203.0.113.7: ..."), and the request line it quotes may hold
    more (a PROXY line names both ends). Such lines keep everything but the addresses.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, _HideAddresses) for f in self.error_log.filters):
            self.error_log.addFilter(_HideAddresses())


logger_class = AddresslessLogger

# Logs go to standard output and error (journald or the container's log).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Time, worker, method, path, status, size, duration. Deliberately missing: the client's
# address (behind nginx it would be the proxy's anyway; nginx logs what it must, see
# docs/deployment.md), the query string (a manager's search words), the referrer and the
# user agent (both help recognise a person).
access_log_format = '%(t)s %(p)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

# Forwarded headers are handled in one place only: the app's ProxyFix, which trusts exactly
# TRUSTED_PROXIES hops of X-Forwarded-For / -Proto / -Host / -Port (survey_app/__init__.py).
# Gunicorn would otherwise set the scheme from X-Forwarded-Proto for any peer it trusts
# (127.0.0.1 by default, and every unix-socket peer), even when the app is told that no
# proxy is in front. So gunicorn trusts nobody and reads no forwarding header itself.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""

# Gunicorn's runtime control socket (gunicornc) is off unless a path is given: nobody needs
# it to run this app, and it would be one more thing to secure.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
