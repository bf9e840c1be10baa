"""survey_app: citizens rate the service at one-stop counters; managers read SIPAS tallies."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from config import (
    UnsafeProductionSettings,
    config_for,
    is_postgresql_url,
    production_problems,
    production_warnings,
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the app."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_for(os.environ.get("APP_ENV")))
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    _finish_config(app)
    from survey_app.web.wsgi_guards import RequireUtf8QueryString

    app.wsgi_app = RequireUtf8QueryString(app.wsgi_app)  # type: ignore[method-assign]
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy, the client's address and scheme come from its headers;
        # trust exactly as many hops as there are proxies, or anyone could forge them.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )

    from survey_app import cli
    from survey_app.extensions import csrf, db
    from survey_app.survey import limits
    from survey_app.web import access, errors, i18n, labels, security, static_files
    from survey_app.web.sessions import KeptSignerSessionInterface

    app.session_interface = KeptSignerSessionInterface()
    db.init_app(app)
    csrf.init_app(app)
    access.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    static_files.init_app(app)
    cli.init_app(app)

    from survey_app.admin import bp as admin_bp
    from survey_app.alerts import bp as alerts_bp
    from survey_app.api import bp as api_bp
    from survey_app.auth import bp as auth_bp
    from survey_app.board import bp as board_bp
    from survey_app.counters import bp as counters_bp
    from survey_app.dashboard import bp as dashboard_bp
    from survey_app.exports import bp as exports_bp
    from survey_app.main import bp as main_bp
    from survey_app.manage import bp as manage_bp
    from survey_app.review import bp as review_bp
    from survey_app.seals import bp as seals_bp
    from survey_app.survey import bp as survey_bp
    from survey_app.targets import bp as targets_bp
    from survey_app.voice import bp as voice_bp

    for blueprint in (
        main_bp, survey_bp, auth_bp, manage_bp, counters_bp, dashboard_bp, review_bp,
        exports_bp, admin_bp, targets_bp, alerts_bp, api_bp, seals_bp, board_bp, voice_bp,
    ):
        app.register_blueprint(blueprint)
    # The API authenticates each request by its bearer token, not by a session cookie.
    csrf.exempt(api_bp)
    # The survey form checks its CSRF token itself (FlaskForm), so that a stale token
    # re-renders the form with every answer kept instead of failing with a bare error.
    csrf.exempt(survey_bp)
    limits.init_app(app)
    # A new phone's reading of a form already rendered is answered in front of Flask.
    from survey_app.survey import first_visit

    first_visit.install(app)
    return app


def _finish_config(app: Flask) -> None:
    """Derive the settings that depend on others, and refuse unsafe production settings.

    With APP_ENV=production the app does not start (UnsafeProductionSettings, naming every
    problem at once) on SQLite, the in-memory rate limiter, a missing or weak SECRET_KEY or
    HASH_KEY, or a PUBLIC_BASE_URL that is not https on a public name; what may be meant
    (TRUSTED_PROXIES=0) is logged as a warning. The web server (wsgi.py) and every `flask`
    command go through here, `flask db upgrade` included.
    """
    if app.config["APP_ENV"] == "production":
        problems = production_problems(app.config)
        if problems:
            raise UnsafeProductionSettings(problems)
        for warning in production_warnings(app.config):
            app.logger.warning("%s", warning)

    url = app.config.get("DATABASE_URL")
    if not url:
        url = "sqlite:///" + os.path.join(app.instance_path, "survey_app.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
    is_postgresql = is_postgresql_url(app.config["SQLALCHEMY_DATABASE_URI"])
    replica = app.config.get("DATABASE_REPLICA_URL")
    if replica and not is_postgresql:
        raise RuntimeError(
            "DATABASE_REPLICA_URL names a replica of PostgreSQL: set DATABASE_URL to the "
            "primary PostgreSQL database too, or unset DATABASE_REPLICA_URL"
        )
    app.config["SQLALCHEMY_REPLICA_URI"] = normalise_database_url(replica) if replica else None
    owner = app.config.get("DATABASE_OWNER_URL")
    if owner and not (is_postgresql and is_postgresql_url(owner)):
        raise RuntimeError(
            "DATABASE_OWNER_URL names the role that owns a PostgreSQL database's tables: set "
            "it and DATABASE_URL to the same PostgreSQL database, or unset DATABASE_OWNER_URL"
        )
    # The migrations run as the owner when one is named, else as the app's own role.
    app.config["SQLALCHEMY_OWNER_URI"] = (
        normalise_database_url(owner) if owner else app.config["SQLALCHEMY_DATABASE_URI"]
    )

    ZoneInfo(app.config["TIMEZONE"])  # fail at start, not at the first dashboard
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["TIMEZONE"]

    # Outside production, a missing key is generated once and kept in the instance folder.
    for name in ("SECRET_KEY", "HASH_KEY"):
        if not app.config.get(name):
            app.config[name] = _instance_secret(app, name.lower())


def _instance_secret(app: Flask, file_name: str) -> str:
    """Return a development key kept in the instance folder, so that it survives restarts."""
    path = os.path.join(app.instance_path, file_name)
    if not os.path.exists(path):
        # Written whole under another name, then linked into place: workers starting at
        # once all read the one key that won, never a half-written file.
        fd, written = tempfile.mkstemp(dir=app.instance_path)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(32))
            os.link(written, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(written)
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def normalise_database_url(url: str) -> str:
    """Return the URL with the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
