"""Settings come from the environment; production refuses unsafe ones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from survey_app import create_app, normalise_database_url


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    for secret in (None, "", "dev", "short-but-not-empty"):
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app({"SECRET_KEY": secret, "HASH_KEY": "h" * 64,
                        "DATABASE_URL": f"sqlite:///{tmp_path}/p.db"})


def test_production_starts_with_a_real_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    app = create_app({"SECRET_KEY": "x" * 64, "HASH_KEY": "h" * 64,
                      "DATABASE_URL": f"sqlite:///{tmp_path}/p.db"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_defaults_to_sqlite_in_the_instance_folder(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"DATABASE_URL": None, "SECRET_KEY": "k", "HASH_KEY": "h"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/survey_app.sqlite3")
    assert app.config["TIMEZONE"] == "Asia/Ho_Chi_Minh"


def test_unknown_environment_is_refused(monkeypatch):
    monkeypatch.setenv("APP_ENV", "staging-ish")
    with pytest.raises(RuntimeError, match="APP_ENV"):
        create_app()


def test_bad_time_zone_fails_at_start(tmp_path):
    with pytest.raises(Exception, match="Nowhere"):
        create_app({"TIMEZONE": "Asia/Nowhere", "DATABASE_URL": f"sqlite:///{tmp_path}/t.db"})


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_uses_psycopg_3(given, used):
    assert normalise_database_url(given) == used


def test_client_address_comes_from_a_trusted_proxy_only(tmp_path):
    from flask import request

    for proxies, expected in ((0, "10.0.0.1"), (1, "203.0.113.7")):
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
                          "TRUSTED_PROXIES": proxies})
        @app.get("/whoami")
        def whoami() -> str:
            return request.remote_addr or ""

        response = app.test_client().get(
            "/whoami", headers={"X-Forwarded-For": "203.0.113.7"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        assert response.get_data(as_text=True) == expected


def _public_base_url(monkeypatch, **env: str) -> str:
    """Return Config.PUBLIC_BASE_URL as a fresh process reads it from this environment."""
    for name in ("PUBLIC_BASE_URL", "FLASK_RUN_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    printed = subprocess.run(
        [sys.executable, "-c", "import config; print(config.Config.PUBLIC_BASE_URL)"],
        check=True, capture_output=True, text=True,
    )
    return printed.stdout.strip()


def test_public_address_follows_the_development_server_port(monkeypatch):
    assert _public_base_url(monkeypatch) == "http://127.0.0.1:5000"
    assert _public_base_url(monkeypatch, FLASK_RUN_PORT="5001") == "http://127.0.0.1:5001"
    given = _public_base_url(monkeypatch, FLASK_RUN_PORT="5001",
                             PUBLIC_BASE_URL="https://danhgia.tinh.gov.vn")
    assert given == "https://danhgia.tinh.gov.vn"


def test_a_replica_without_a_postgresql_primary_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="DATABASE_REPLICA_URL"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
                    "DATABASE_REPLICA_URL": "postgresql://reader@127.0.0.1:5433/survey"})


def test_without_a_replica_the_app_has_no_second_engine(tmp_path):
    from survey_app.extensions import db

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/p.db"})
    assert app.config["SQLALCHEMY_REPLICA_URI"] is None
    assert db.replica_for(app) is None
