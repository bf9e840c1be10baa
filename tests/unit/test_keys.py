"""HASH_KEY keys every stored hash, apart from SECRET_KEY: the derivation, and the settings
production refuses. (Hashes read inside the suite's own app are in tests/db/test_keys.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from config import TestingConfig
from survey_app import create_app
from survey_app.services import devices
from survey_app.services.hashing import hkdf_expand
from survey_app.services.recording import dossier_hash

OFFICE = "203.0.113.7"
JANUARY = datetime(2026, 1, 15, tzinfo=UTC)


def app_with(tmp_path: Path, **keys: str) -> Flask:
    """Return an app with these keys; its SQLite file is never opened."""
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/k.db", **keys})


# RFC 5869, appendix A: test cases 1 and 3 (SHA-256), from the pseudorandom key on.
@pytest.mark.parametrize(
    ("prk", "info", "length", "okm"),
    [
        ("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "f0f1f2f3f4f5f6f7f8f9", 42,
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        ("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04", "", 42,
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
    ],
)
def test_key_derivation_is_hkdf_sha256(prk, info, length, okm):
    assert hkdf_expand(bytes.fromhex(prk), bytes.fromhex(info), length).hex() == okm


def test_hashes_follow_hash_key_and_not_secret_key(tmp_path):
    one = app_with(tmp_path, SECRET_KEY="s" * 40, HASH_KEY="h" * 40)
    rotated_secret = app_with(tmp_path, SECRET_KEY="t" * 40, HASH_KEY="h" * 40)
    other_key = app_with(tmp_path, SECRET_KEY="s" * 40, HASH_KEY="k" * 40)

    def hashes(app: Flask) -> tuple[str, str, str]:
        with app.app_context():
            return (dossier_hash("HS-2026-0002"), devices.address_hash(OFFICE, JANUARY),
                    devices.device_hash("a-device"))

    assert hashes(one) == hashes(rotated_secret)
    assert all(a != b for a, b in zip(hashes(one), hashes(other_key), strict=True))


# Production settings the app accepts but for the keys (tests/unit/test_config.py has every
# other refusal).
PRODUCTION = {
    "DATABASE_URL": "postgresql://survey_app@127.0.0.1:5432/survey",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "PUBLIC_BASE_URL": "https://danhgia.tinh.gov.vn",
    "TRUSTED_PROXIES": 1,
}
SECRET = "f8dfafa2600c45cf6314e34b9f32eed58aeaf87d6917db7559152f3d46df2fb2"
HASH_KEY = "41c583b1b3a95909d085102b797622533723b0b4a9d06a0b23c4cfabb43e019d"


@pytest.mark.parametrize("hash_key_value", [None, "", "short", "dev", TestingConfig.HASH_KEY])
def test_production_refuses_to_start_without_a_real_hash_key(monkeypatch, hash_key_value):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="HASH_KEY"):
        create_app({**PRODUCTION, "SECRET_KEY": SECRET, "HASH_KEY": hash_key_value})


def test_production_refuses_a_hash_key_equal_to_the_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="HASH_KEY must differ from SECRET_KEY"):
        create_app({**PRODUCTION, "SECRET_KEY": SECRET, "HASH_KEY": SECRET})


def test_production_starts_with_both_keys(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    app = create_app({**PRODUCTION, "SECRET_KEY": SECRET, "HASH_KEY": HASH_KEY})
    assert app.config["HASH_KEY"] == HASH_KEY


def test_development_keeps_a_generated_hash_key_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("HASH_KEY", raising=False)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    first = app_with(tmp_path, SECRET_KEY=None, HASH_KEY=None)
    again = app_with(tmp_path, SECRET_KEY=None, HASH_KEY=None)
    stored = (tmp_path / "instance" / "hash_key").read_text().strip()
    assert first.config["HASH_KEY"] == again.config["HASH_KEY"] == stored
    assert len(stored) == 64 and stored != first.config["SECRET_KEY"]
    assert (tmp_path / "instance" / "hash_key").stat().st_mode & 0o777 == 0o600
