"""Settings come from the environment; production refuses unsafe ones."""

from __future__ import annotations

import logging
import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from config import TestingConfig, UnsafeProductionSettings
from survey_app import create_app, normalise_database_url

ROOT = Path(__file__).resolve().parents[2]


# A production configuration the app accepts: each refusal below changes one setting of it.
# Nothing here is ever connected to: the app opens the database and Redis on first use.
SOUND = {
    "DATABASE_URL": "postgresql://survey_app:secret@127.0.0.1:5432/survey?connect_timeout=5",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "SECRET_KEY": "217462960c647df7cd032f0d6a95078e480b7a1ca3ed71931ae29a9b956e012c",
    "HASH_KEY": "41c583b1b3a95909d085102b797622533723b0b4a9d06a0b23c4cfabb43e019d",
    "PUBLIC_BASE_URL": "https://danhgia.tinh.gov.vn",
    "TRUSTED_PROXIES": 1,
    "DATA_CONTROLLER_NAME": "Văn phòng UBND tỉnh Quảng Trị",
    "DATA_CONTROLLER_ADDRESS": "45 Hùng Vương, phường Đông Hà, tỉnh Quảng Trị",
    "DATA_CONTROLLER_CONTACT": "dulieu@quangtri.gov.vn",
}


def production_app(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> Flask:
    """Create the app with APP_ENV=production and the sound settings, changed as given."""
    monkeypatch.setenv("APP_ENV", "production")
    return create_app({**SOUND, **changes})


def refusal(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> UnsafeProductionSettings:
    """Return the refusal of the production app with these changes to the sound settings."""
    with pytest.raises(UnsafeProductionSettings) as refused:
        production_app(monkeypatch, **changes)
    return refused.value


def test_a_sound_production_configuration_starts_without_a_warning(monkeypatch, caplog):
    app = production_app(monkeypatch)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://survey_app:")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # The home page needs neither the database nor Redis; HSTS comes with production.
    home = app.test_client().get("/", base_url=SOUND["PUBLIC_BASE_URL"])
    assert home.status_code == 200
    assert "max-age=" in home.headers["Strict-Transport-Security"]


BROKEN = [
    # (what is changed, the setting named, words of its problem)
    ({"DATABASE_URL": None}, "DATABASE_URL", "is not set, so the data would go to SQLite"),
    ({"DATABASE_URL": "sqlite:////srv/survey.db"}, "DATABASE_URL", "names SQLite"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI", "is memory://"),
    ({"RATELIMIT_STORAGE_URI": None}, "RATELIMIT_STORAGE_URI", "is memory://"),
    ({"RATELIMIT_ENABLED": False}, "RATELIMIT_ENABLED", "is off"),
    *(
        ({name: value}, name, words)
        for name in ("SECRET_KEY", "HASH_KEY")
        for value, words in (
            (None, "is not set"),
            ("", "is not set"),
            ("short-but-not-empty", "has 19 characters, fewer than 32"),
            ("a" * 36, "is one character repeated"),
            ("load-tests-" + "k" * 40, "is mostly one character repeated"),
            ("abc" * 12, "uses only 3 different characters"),
            ("0123456789abcdef" * 2, "is a short pattern repeated"),
            ("abcdefghijklmnopqrstuvwxyz012345", "is a run of neighbouring characters"),
            ("azazazazazazazazazazmaqaeatahawa", "bits of randomness, fewer than 64"),
            (TestingConfig.SECRET_KEY, "is a placeholder"),
            (TestingConfig.HASH_KEY, "is a placeholder"),
            ("change-me-" + "9f86d081884c7d659a2feaa0c55ad015", "is a placeholder"),
        )
    ),
    ({"HASH_KEY": SOUND["SECRET_KEY"]}, "HASH_KEY", "must differ from SECRET_KEY"),
    *(
        ({"PUBLIC_BASE_URL": url}, "PUBLIC_BASE_URL", words)
        for url, words in (
            (None, "is not set"),
            ("http://danhgia.tinh.gov.vn", "it is not https"),
            ("https://localhost:5000", "its host localhost is not a public name"),
            ("https://127.0.0.1", "its host 127.0.0.1 is an IP address"),
            ("https://10.0.0.11:8443", "its host 10.0.0.11 is an IP address"),
            ("https://192.168.1.20", "its host 192.168.1.20 is an IP address"),
            ("https://203.0.113.7", "its host 203.0.113.7 is an IP address"),
            ("https://[::1]:5000", "its host ::1 is an IP address"),
            ("https://127.1", "its host 127.1 is an IP address"),
            ("https://danhgia", "its host danhgia is not a public name (a single label)"),
            ("https://danhgia.local", "ends in .local"),
            ("https://survey.localhost", "ends in .localhost"),
            ("https://survey.test", "ends in .test"),
            ("https://danhgia.example", "ends in .example"),
            ("https://survey.example.com", "ends in .example.com"),
        )
    ),
]


@pytest.mark.parametrize(("changes", "setting", "words"), BROKEN)
def test_production_refuses_each_unsafe_setting_by_name(monkeypatch, changes, setting, words):
    refused = refusal(monkeypatch, **changes)
    assert len(refused.problems) == 1, refused.problems
    assert refused.problems[0].startswith(setting)
    assert words in refused.problems[0]
    assert "will not start with APP_ENV=production" in str(refused)
    assert refused.problems[0] in str(refused)


def test_a_refused_key_is_never_printed(monkeypatch):
    key = "0123456789abcdef" * 2
    refused = refusal(monkeypatch, SECRET_KEY=key, HASH_KEY=key)
    assert key not in str(refused)


def test_the_broken_production_of_the_report_is_refused_with_every_problem_at_once(
        monkeypatch):
    # SQLite, the memory limiter, no HASH_KEY, a 36-character SECRET_KEY of one letter and
    # the development server's address: every problem in one message, not the first only.
    refused = refusal(monkeypatch, DATABASE_URL="sqlite:////srv/survey_app/survey.db",
                      RATELIMIT_STORAGE_URI="memory://", TRUSTED_PROXIES=0, HASH_KEY=None,
                      SECRET_KEY="a" * 36, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    message = str(refused)
    assert "each of these 5 problems" in message
    for named in ("DATABASE_URL names SQLite", "RATELIMIT_STORAGE_URI is memory://",
                  "SECRET_KEY (signs sessions, forms and device cookies) is one character",
                  "HASH_KEY (keys every stored hash) is not set",
                  "PUBLIC_BASE_URL=http://127.0.0.1:5000 is printed on every QR code, so every "
                  "poster would point at it, but it is not https and its host 127.0.0.1 is an "
                  "IP address"):
        assert named in message


def test_production_warns_but_starts_without_a_trusted_proxy(monkeypatch, caplog):
    with caplog.at_level(logging.WARNING):
        app = production_app(monkeypatch, TRUSTED_PROXIES=0)
    assert app.config["TRUSTED_PROXIES"] == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("TRUSTED_PROXIES=0")
    assert "Behind nginx it must be 1" in warnings[0]


def test_production_warns_but_starts_without_a_data_controller(monkeypatch, caplog):
    monkeypatch.setenv("APP_ENV", "production")
    left_out = ("DATA_CONTROLLER_NAME", "DATA_CONTROLLER_CONTACT")
    with caplog.at_level(logging.WARNING):
        app = create_app({k: v for k, v in SOUND.items() if k not in left_out})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("DATA_CONTROLLER_NAME, DATA_CONTROLLER_CONTACT not set")
    notice = app.test_client().get("/quyen-rieng-tu", base_url=SOUND["PUBLIC_BASE_URL"])
    assert "Chưa thiết lập" in notice.get_data(as_text=True)
    assert "Văn phòng UBND tỉnh Quảng Trị" not in notice.get_data(as_text=True)


def test_the_web_server_entry_point_refuses_a_broken_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    for name in ("DATABASE_URL", "RATELIMIT_STORAGE_URI", "SECRET_KEY", "HASH_KEY",
                 "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UnsafeProductionSettings, match="DATABASE_URL is not set"):
        runpy.run_path(str(ROOT / "wsgi.py"))


def test_flask_db_upgrade_refuses_to_migrate_a_production_on_sqlite(tmp_path):
    database = tmp_path / "survey.sqlite3"
    env = {**os.environ, "APP_ENV": "production", **{k: str(v) for k, v in SOUND.items()},
           "DATABASE_URL": f"sqlite:///{database}"}
    migrated = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "survey_app", "db", "upgrade"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert migrated.returncode != 0
    assert "will not start with APP_ENV=production" in migrated.stderr
    assert "DATABASE_URL names SQLite" in migrated.stderr
    assert not database.exists()


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


def test_an_owner_url_needs_a_postgresql_database_url(tmp_path):
    with pytest.raises(RuntimeError, match="DATABASE_OWNER_URL"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
                    "DATABASE_OWNER_URL": "postgresql://survey_owner@127.0.0.1:5432/survey"})


def test_migrations_run_as_the_owner_and_never_grant_the_owner_itself():
    owner = "postgresql://survey_owner@127.0.0.1:5432/survey"
    app = create_app({"DATABASE_URL": "postgresql://survey_app@127.0.0.1:5432/survey",
                      "DATABASE_OWNER_URL": owner})
    assert app.config["SQLALCHEMY_OWNER_URI"] == normalise_database_url(owner)
    same = create_app({"DATABASE_URL": owner, "DATABASE_OWNER_URL": owner})
    refused = same.test_cli_runner().invoke(args=["db", "upgrade"])
    assert refused.exit_code != 0
    assert "both connect as survey_owner: the app would own its tables" in refused.output
