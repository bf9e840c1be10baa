"""The checks behind /healthz: the database, the shared rate-limit store, the disk.

Each check answers one word: "ok", or what is wrong ("unreachable", "low"). None of them
names a host, a path or an error: the cause goes to the server's log, not to whoever asks.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from urllib.parse import urlsplit

import redis
from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from survey_app.extensions import db
from survey_app.web.ratelimit import EXTENSION_KEY

OK = "ok"
# A PING that takes longer than this counts as no answer: a monitor asks every few seconds
# and must not wait on a store that has gone away.
REDIS_TIMEOUT_SECONDS = 1.0
_REDIS_CLIENT_KEY = "survey_app.health_redis"


def check_database() -> str:
    """Say whether a SELECT 1 succeeds on the primary database."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable (%s)", type(error).__name__)
        return "unreachable"
    return OK


def uses_redis(app: Flask) -> bool:
    """Say whether the rate limits are counted in Redis (any of its URL schemes)."""
    return urlsplit(app.config.get("RATELIMIT_STORAGE_URI") or "").scheme.startswith("redis")


def check_redis() -> str:
    """Say whether the rate-limit store answers a PING within REDIS_TIMEOUT_SECONDS."""
    try:
        answered = _redis_ping()
    except (redis.RedisError, OSError, ValueError) as error:
        current_app.logger.warning("health check: redis unreachable (%s)", type(error).__name__)
        return "unreachable"
    if not answered:
        current_app.logger.warning("health check: redis unreachable (no answer to PING)")
        return "unreachable"
    return OK


def _redis_ping() -> bool:
    uri: str = current_app.config["RATELIMIT_STORAGE_URI"]
    if urlsplit(uri).scheme not in ("redis", "rediss"):
        # Sentinel, cluster and socket flavours: the limiter's own storage knows them.
        limiter = current_app.extensions.get(EXTENSION_KEY)
        return bool(limiter is not None and limiter.storage.check())
    client = current_app.extensions.get(_REDIS_CLIENT_KEY)
    if client is None:
        # One client (and its small pool) per app, made at the first check.
        client = redis.Redis.from_url(
            uri, socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS, max_connections=2,
        )
        current_app.extensions[_REDIS_CLIENT_KEY] = client
    return bool(client.ping())


def free_megabytes(path: str) -> float:
    """Return the free space, in megabytes, of the file system that holds path."""
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free / (1024 * 1024)


def check_disk() -> str:
    """Say whether the instance folder's file system has HEALTHZ_MIN_FREE_MB free or more."""
    minimum = current_app.config["HEALTHZ_MIN_FREE_MB"]
    try:
        free = free_megabytes(current_app.instance_path)
    except OSError as error:
        current_app.logger.warning("health check: disk unreadable (%s)", type(error).__name__)
        return "unreadable"
    if free < minimum:
        current_app.logger.warning(
            "health check: disk low (%d MB free in the instance folder, under %d MB)",
            free, minimum)
        return "low"
    return OK


def run_checks() -> dict[str, str]:
    """Return each check's answer by name: database, redis (when the limits use it), disk."""
    checks: dict[str, Callable[[], str]] = {"database": check_database}
    if uses_redis(current_app):
        checks["redis"] = check_redis
    checks["disk"] = check_disk
    return {name: check() for name, check in checks.items()}
