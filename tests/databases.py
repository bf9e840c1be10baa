"""Which databases a test run covers.

SQLite always; PostgreSQL too when TEST_DATABASE_URL names a (throw-away) database.
"""

from __future__ import annotations

import os

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
