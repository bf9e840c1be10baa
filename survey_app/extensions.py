"""The extension objects, bound to an app in create_app()."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from flask_babel import Babel
from flask_wtf import CSRFProtect
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session


class Database:
    """One engine per database URL and one session per app context.

    The session's lifetime belongs to the request (or the CLI command): service functions
    only flush, the caller commits once, and the teardown closes whatever was left open,
    which rolls back anything not committed.
    """

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        # Per app: what sessions bind to (the engine, or a test's open connection).
        self._binds: dict[int, Engine | Connection] = {}

    def init_app(self, app: Flask) -> None:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if url not in self._engines:
            self._engines[url] = make_engine(url)
        self._binds[id(app)] = self._engines[url]
        app.extensions["database"] = self
        app.teardown_appcontext(self._close_session)

    def engine_for(self, app: Flask) -> Engine:
        return self._engines[app.config["SQLALCHEMY_DATABASE_URI"]]

    @property
    def engine(self) -> Engine:
        return self.engine_for(current_app._get_current_object())  # type: ignore[attr-defined]

    def bind_app_to(self, app: Flask, bind: Engine | Connection) -> None:
        """Make the app's sessions use this bind (tests: a connection rolled back after)."""
        self._binds[id(app)] = bind

    @property
    def session(self) -> Session:
        session: Session | None = g.get("_db_session")
        if session is None:
            bind = self._binds[id(current_app._get_current_object())]  # type: ignore[attr-defined]
            # Joined to a test's outer transaction, a commit only releases a savepoint.
            if isinstance(bind, Connection):
                session = Session(bind=bind, join_transaction_mode="create_savepoint")
            else:
                session = Session(bind=bind)
            g._db_session = session
        return session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("_db_session", None)
        if session is not None:
            session.close()


def make_engine(url: str) -> Engine:
    """Create an engine with the settings each database needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so
            # savepoints work (the recipe of SQLAlchemy's SQLite documentation).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN")

        return engine
    # A pooled connection cut by a restart of PostgreSQL is found dead and replaced when a
    # request takes it, instead of failing that request (tests/test_outage.py).
    return create_engine(url, pool_pre_ping=True)


db = Database()
csrf = CSRFProtect()
babel = Babel()
