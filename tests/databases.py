"""Which databases a test run covers, and a PostgreSQL database for each xdist worker.

SQLite always (a temporary file per worker); PostgreSQL too when TEST_DATABASE_URL names a
(throw-away) database. Tests run in parallel workers (pytest-xdist), and two workers must
never share a database: the first worker (gw0, or a run without workers) uses the database
TEST_DATABASE_URL names; each other worker creates `<that name>_<worker>` on the same server
and drops it when it ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import URL, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from survey_app import normalise_database_url

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
# PostgreSQL cuts names longer than this.
MAX_NAME_LENGTH = 63


def worker() -> str:
    """Return the xdist worker running this process ("gw0", "gw1", ...), or "" without."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def postgres_database() -> tuple[str, bool]:
    """Return the SQLAlchemy URL of this worker's empty PostgreSQL database, and whether
    this worker created it (then `drop_database` drops it at the end)."""
    url = make_url(normalise_database_url(POSTGRES_URL or ""))
    name = worker()
    if name in ("", "gw0"):
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        finally:
            engine.dispose()
        return url.render_as_string(hide_password=False), False
    database = f"{url.database}_{name}"
    if len(database) > MAX_NAME_LENGTH:
        raise RuntimeError(f"the name of TEST_DATABASE_URL's database is too long to add "
                           f"_{name} for a test worker: {url.database}")
    with _server(url) as run:
        run(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        run(f'CREATE DATABASE "{database}"')
    return url.set(database=database).render_as_string(hide_password=False), True


def drop_database(sqlalchemy_url: str) -> None:
    """Drop a database `postgres_database` created for this worker."""
    url = make_url(sqlalchemy_url)
    with _server(url) as run:
        run(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@contextmanager
def _server(url: URL) -> Iterator[Callable[[str], None]]:
    """Yield a function running statements, outside any transaction, on the server's
    maintenance database (postgres, or template1 where postgres is not open to us)."""
    for maintenance in ("postgres", "template1"):
        engine = create_engine(url.set(database=maintenance), isolation_level="AUTOCOMMIT")
        try:
            engine.connect().close()
        except OperationalError:
            engine.dispose()
            continue
        break
    else:
        raise RuntimeError(f"cannot reach a maintenance database (postgres, template1) on "
                           f"TEST_DATABASE_URL's server to create one for test worker {worker()}")

    def run(statement: str) -> None:
        with engine.connect() as connection:
            connection.execute(text(statement))

    try:
        yield run
    finally:
        engine.dispose()
