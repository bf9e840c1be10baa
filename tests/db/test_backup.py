"""The nightly backup (deploy/backup.sh): private, encrypted, and it restores to the same figures.

PostgreSQL only: the script runs pg_dump against a throw-away database of its own, with a
few responses committed in it; the dump is decrypted with the key the server never holds
and restored into a second throw-away database, whose rows and tallies must be the same.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from survey_app import create_app, normalise_database_url
from survey_app.extensions import db
from tests.databases import POSTGRES_URL
from tests.factories import (
    PROJECT_ROOT,
    create_agency,
    create_code,
    record,
    seeded_app,
    tally_of_today,
)

BACKUP = PROJECT_ROOT / "deploy" / "backup.sh"
TOOLS = ("pg_dump", "pg_restore", "age", "age-keygen")


@pytest.fixture
def two_databases() -> Iterator[tuple[URL, URL]]:
    """Create two empty throw-away databases on the test server; drop them at the end."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL): the backup is a pg_dump")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install postgresql-client age)")
    server = make_url(normalise_database_url(POSTGRES_URL))
    tag = uuid.uuid4().hex[:8]
    names = (f"backup_{tag}_source", f"backup_{tag}_restored")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=names[0]), server.set(database=names[1])
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def libpq(url: URL) -> str:
    """Return the URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def rows_per_table(app: Flask) -> dict[str, int]:
    with app.app_context():
        bind = db.session.get_bind()
        return {name: db.session.scalar(text(f'SELECT count(*) FROM "{name}"')) or 0
                for name in inspect(bind).get_table_names()}


def test_the_nightly_backup_is_private_encrypted_and_restores_to_the_same_figures(
        two_databases, tmp_path: Path):
    source_url, restored_url = two_databases
    source = seeded_app(source_url.render_as_string(hide_password=False))
    with source.app_context():
        code = create_code(create_agency())
        for n in range(5):
            record(code, q6=str(1 + n % 5), comment=f"Góp ý số {n}" if n % 2 else "")
        code_text = code.code
        db.session.commit()
    tally = tally_of_today(source, code_text)
    rows = rows_per_table(source)
    assert rows["responses"] == 5 and tally[1] == 5

    key, recipients = tmp_path / "key.txt", tmp_path / "recipients.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipients.write_text(subprocess.run(["age-keygen", "-y", str(key)], check=True,
                                         capture_output=True, text=True).stdout)
    backups = tmp_path / "backups"
    written = subprocess.run(
        ["bash", str(BACKUP)], check=True, capture_output=True, text=True,
        env={**os.environ, "BACKUP_DATABASE": libpq(source_url), "BACKUP_DIR": str(backups),
             "BACKUP_RECIPIENTS": str(recipients)},
    ).stdout.strip()

    dump = Path(written)
    assert dump.parent == backups and dump.name.endswith(".dump.age")
    assert [path.name for path in backups.iterdir()] == [dump.name]  # nothing half-written
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    # Neither PostgreSQL's custom format nor SQL: without the key it is age's ciphertext.
    content = dump.read_bytes()
    assert content.startswith(b"age-encryption.org/v1\n")
    assert b"PGDMP" not in content and "Góp ý số".encode() not in content
    assert b"CREATE TABLE" not in content
    unreadable = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True)
    assert unreadable.returncode != 0

    plain = tmp_path / "survey.dump"
    subprocess.run(["age", "--decrypt", "--identity", str(key), "--output", str(plain),
                    str(dump)], check=True)
    assert plain.read_bytes().startswith(b"PGDMP")
    subprocess.run(["pg_restore", "--exit-on-error", "--no-owner",
                    "--dbname", libpq(restored_url), str(plain)], check=True, capture_output=True)

    restored = create_app({"DATABASE_URL": restored_url.render_as_string(hide_password=False)})
    assert rows_per_table(restored) == rows
    assert tally_of_today(restored, code_text) == tally
    for app in (source, restored):
        db.engine_for(app).dispose()  # before the fixture drops both databases
