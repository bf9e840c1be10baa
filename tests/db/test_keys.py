"""Inside the suite's app, HASH_KEY keys the stored hashes; each month has its own address key.

(The key derivation alone, and what production refuses, are in tests/unit/test_keys.py.)
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from config import TestingConfig
from survey_app.services import devices
from survey_app.services.hashing import derived_key, hash_key, hkdf_expand, keyed_hash, period_hash
from survey_app.services.recording import dossier_hash

OFFICE = "203.0.113.7"
JANUARY = datetime(2026, 1, 15, tzinfo=UTC)
FEBRUARY = datetime(2026, 2, 1, tzinfo=UTC)


def test_each_month_has_its_own_address_key_derived_from_hash_key(app):
    with app.app_context():
        january_key = hkdf_expand(hash_key(), b"survey_app address:2026-01")
        assert derived_key("address", "2026-01") == january_key
        assert derived_key("address", "2026-02") != january_key
        expected = hmac.new(january_key, OFFICE.encode(), hashlib.sha256).hexdigest()
        assert devices.address_hash(OFFICE, JANUARY) == expected
        assert devices.address_hash(OFFICE, FEBRUARY) != expected
        # No longer a label inside the message under the one root key.
        assert expected != keyed_hash("address:2026-01", OFFICE)
        assert period_hash("address", "2026-01", OFFICE) == expected


def test_a_dossier_code_hashes_as_before_under_the_same_hash_key(app):
    # Derived as before per-period keys existed: rows stored under HASH_KEY stay comparable.
    with app.app_context():
        root = hmac.new(TestingConfig.HASH_KEY.encode(), b"survey_app keyed hash",
                        hashlib.sha256).digest()
        assert hash_key() == root
        before = hmac.new(root, b"dossier\x00HS20260002", hashlib.sha256).hexdigest()
        assert dossier_hash("HS20260002") == before


def test_the_test_suite_uses_a_fixed_hash_key_of_its_own(app):
    assert app.config["HASH_KEY"] == TestingConfig.HASH_KEY != app.config["SECRET_KEY"]
